"""A spooled image left short by a crash is not copied on: the replay stores the record without it
instead of the torn bytes under the photo's hash (served as the photo, and never replaced)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from store_records import make_record

from capsight.store.blobs import LocalBlobStore, blob_key
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.requestlog import RequestLog
from capsight.store.spool import Spool

FAST = RecorderConfig(batch_size=50, retry_initial_s=0.05, retry_max_s=0.2)
IMAGE = b"a stored photo, " * 64
SHA = hashlib.sha256(IMAGE).hexdigest()


def _tear(root: Path, keep: int) -> None:
    path = root / blob_key(SHA)
    path.write_bytes(path.read_bytes()[:keep])


def test_a_spooled_image_torn_on_disk_is_replayed_without_it(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    Spool(spool_dir).append(
        [
            (make_record(request_id="torn", image_sha256=SHA, image_bytes=len(IMAGE)), IMAGE),
            (make_record(request_id="plain"), None),
        ]
    )
    _tear(spool_dir / "blobs", 100)

    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    blobs = LocalBlobStore(tmp_path / "images")
    recorder = DatabaseRecorder(db, blobs, spool_dir, FAST).start()
    try:
        assert recorder.flush(5), "the replay must not stall on a torn image"
        items = {i.request_id: i for i in RequestLog(db, blobs).list_requests().items}
        assert set(items) == {"torn", "plain"}
        assert items["torn"].image_ref is None
        assert blobs.get(SHA) is None  # not the torn bytes under the photo's hash
    finally:
        recorder.close()
        db.dispose()
    # The photo sent again is stored whole.
    blobs.put(SHA, IMAGE)
    assert blobs.get(SHA) == IMAGE
