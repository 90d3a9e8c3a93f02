"""A burst of the same upload (cache hits, ~700 req/s of one 600 KB photo) filled the request log's
64 MiB queue with ~110 copies of one image, and every record past that went to the spool: each record
carried its own copy of the bytes. The queue now holds one copy per distinct image."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from store_records import make_record

from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.requestlog import RequestLog


def test_the_same_upload_again_and_again_fills_the_queue_once(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    config = RecorderConfig(queue_max_bytes=10_000, retry_initial_s=0.05)
    recorder = DatabaseRecorder(database, blobs, tmp_path / "spool", config)  # not started: it fills
    upload = b"p" * 3000
    for n in range(200):
        recorder.submit(make_record(request_id=f"same-{n}"), bytes(upload))  # each request its own copy
    distinct = [bytes([n]) * 3000 for n in range(3)]
    for n, image in enumerate(distinct):
        recorder.submit(make_record(request_id=f"distinct-{n}"), image)
    # 3000 bytes of the shared upload, two others fit; the last (12,000 > 10,000) overflows.
    deadline = time.monotonic() + 10  # the overflow's record is counted as queued until spooled
    while recorder.spool.pending < 1 or recorder.stats().queued > 202:
        assert time.monotonic() < deadline, recorder.stats()
        time.sleep(0.01)
    assert recorder.stats().queued == 202
    recorder.start()
    assert recorder.flush(10)
    recorder.close()
    assert RequestLog(database, None).count() == 203
    stored = {hashlib.sha256(image).hexdigest() for image in [upload, *distinct]}
    assert set(blobs.iter_keys()) == stored
