"""Records spooled because the in-memory queue was full must reach the database while it is healthy,
not wait in the spool for the next outage or restart."""

from __future__ import annotations

from pathlib import Path

from store_records import make_record

from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.requestlog import RequestLog


def test_overflow_while_the_database_is_healthy_is_replayed(database: Database, tmp_path: Path) -> None:
    config = RecorderConfig(queue_max_bytes=100, retry_initial_s=0.05, retry_max_s=0.2)
    recorder = DatabaseRecorder(database, LocalBlobStore(tmp_path / "images"), tmp_path / "spool", config)
    recorder.start()
    recorder.submit(make_record(request_id="first"), None)
    assert recorder.flush(10)  # healthy: migrated, spool empty, first record written
    assert not recorder.stats().degraded
    # An image past the in-memory budget is never queued: it goes straight to the spool (not asserted
    # here: the writer, fixed, may already be replaying it).
    recorder.submit(make_record(request_id="overflow"), b"x" * 200)
    try:
        assert recorder.flush(5), "the overflow record stayed in the spool though the database is up"
        # Counted as queued only while the overflow thread held it on its way to the spool.
        assert recorder.stats().queued == 0
        assert RequestLog(database, None).count() == 2
    finally:
        recorder.close()
