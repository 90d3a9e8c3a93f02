"""A spool file damaged on disk must cost only its damaged lines, never the whole request log."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from store_records import make_record

from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.requestlog import RequestLog
from capsight.store.spool import Spool, record_to_json

FAST = RecorderConfig(batch_size=50, retry_initial_s=0.05, retry_max_s=0.2)


def _line(request_id: str, image: object = None) -> bytes:
    entry = {"v": 1, "record": record_to_json(make_record(request_id=request_id)), "image": image}
    return json.dumps(entry).encode() + b"\n"


def _replay(tmp_path: Path, spool_dir: Path) -> tuple[bool, int, int]:
    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    recorder = DatabaseRecorder(db, None, spool_dir, FAST).start()
    try:
        flushed = recorder.flush(5)
        written = RequestLog(db, None).count()
        return flushed, written, recorder.spool.pending
    finally:
        recorder.close()
        db.dispose()


def test_a_line_with_bytes_that_are_not_utf8_is_skipped_and_the_rest_replayed(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    damaged = b'{"v": 1, "record": {"request_id": "\xff\xfe\x00garbage'  # a sector of noise
    (spool_dir / Spool.ACTIVE).write_bytes(_line("before") + damaged + b"\n" + _line("after"))
    flushed, written, pending = _replay(tmp_path, spool_dir)
    assert flushed, "the replay must not stall on one damaged line"
    assert written == 2
    assert pending == 0
    assert not list(spool_dir.glob("*.jsonl"))


def test_a_line_whose_image_field_is_not_a_hash_is_skipped_and_the_rest_replayed(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    body = _line("before") + _line("bad-image", image="../../../etc/passwd") + _line("odd", image=7)
    (spool_dir / Spool.ACTIVE).write_bytes(body + _line("after"))
    flushed, written, pending = _replay(tmp_path, spool_dir)
    assert flushed, "the replay must not stall on one damaged line"
    assert written == 4, "a record whose image reference is damaged is kept without the image"
    assert pending == 0


def test_a_line_whose_record_hash_disagrees_with_its_image_is_replayed_without_it(tmp_path: Path) -> None:
    """The record's image_sha256 names where the image is stored: a damaged one (not a hash, or not
    the spooled image's) made every replay fail as an image store outage."""
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir)
    image = b"a spooled photo"
    sha = hashlib.sha256(image).hexdigest()
    spool.append([(make_record(request_id="with-image", image_sha256=sha), image)])
    good = (spool_dir / Spool.ACTIVE).read_text()
    (spool_dir / Spool.ACTIVE).write_text(
        good
        + good.replace(sha, "0" * 64, 1).replace("with-image", "other")
        + good.replace(sha, "q" + sha[1:], 1).replace("with-image", "third")
    )
    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    blobs = LocalBlobStore(tmp_path / "images")
    recorder = DatabaseRecorder(db, blobs, spool_dir, FAST).start()
    try:
        assert recorder.flush(5), "the replay must not stall on one damaged line"
        items = {i.request_id: i for i in RequestLog(db, blobs).list_requests().items}
        assert set(items) == {"with-image", "other", "third"}
        assert items["with-image"].image_ref is not None and blobs.get(sha) == image
        assert items["other"].image_ref is None and items["third"].image_ref is None
    finally:
        recorder.close()
        db.dispose()
