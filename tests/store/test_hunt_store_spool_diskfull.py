"""When the spool cannot take an image (full disk), it must still take the record."""

from __future__ import annotations

import json
from pathlib import Path

from store_records import make_record, unreachable_postgres_url

from capsight.store.blobs import sha256_hex
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.spool import Spool

FAST = RecorderConfig(batch_size=50, retry_initial_s=0.05, retry_max_s=0.2)


def _spooled_ids(spool_dir: Path) -> set[str]:
    return {
        json.loads(line)["record"]["request_id"]
        for path in spool_dir.glob("*.jsonl")
        for line in path.read_text().splitlines()
        if line.strip()
    }


def test_an_image_the_spool_cannot_store_does_not_cost_its_record(tmp_path: Path) -> None:
    """A real local fault: a file sits where the spool's image folder must be, so storing a spooled
    image fails while appending a record line still works (as on a disk too full for a photo)."""
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    (spool_dir / "blobs").write_bytes(b"not a directory")
    spool = Spool(spool_dir)
    image = b"a photo"
    spool.append([(make_record(request_id="with-image", image_sha256=sha256_hex(image)), image)])
    assert spool.pending == 1
    assert _spooled_ids(spool_dir) == {"with-image"}


def test_database_down_and_spool_images_failing_keeps_every_record(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    (spool_dir / "blobs").write_bytes(b"not a directory")
    db = Database(unreachable_postgres_url(), connect_timeout=1)
    recorder = DatabaseRecorder(db, None, spool_dir, FAST).start()
    for i in range(5):
        recorder.submit(make_record(request_id=f"r{i}"), f"image {i}".encode())
    assert not recorder.flush(0.5)
    recorder.close()
    assert _spooled_ids(spool_dir) == {f"r{i}" for i in range(5)}, "records were lost"
