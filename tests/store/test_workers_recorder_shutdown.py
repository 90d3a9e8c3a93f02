"""Stopping a worker while the request log's writer waits for a SQLite file that another worker keeps
locked: the batch in the writer's hands must reach the spool, not die with the process (every request
in it was answered 200)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from store_records import make_record

from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig


def test_the_batch_being_written_when_the_writer_cannot_stop_is_spooled(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    recorder = DatabaseRecorder(db, None, tmp_path / "spool", RecorderConfig(linger_s=0.0)).start()
    assert recorder.flush(10)  # migrated, and out of its start-up degraded mode
    other_worker = sqlite3.connect(tmp_path / "capsight.db", isolation_level=None)
    other_worker.execute("BEGIN IMMEDIATE")
    try:
        for n in range(5):
            recorder.submit(make_record(request_id=f"req-{n}"), None)
        # The writer took a batch (all 5, or the first ones: any more stay queued) and waits for
        # the lock. Waiting for the queue to empty waited out its 5 s whenever the batch was partial.
        deadline = time.monotonic() + 5
        while not recorder.stats().writing and time.monotonic() < deadline:
            time.sleep(0.01)
        assert recorder.stats().writing, recorder.stats()
        recorder.close(timeout=0.5)
        assert recorder.spool.pending == 5
    finally:
        other_worker.execute("COMMIT")
        other_worker.close()
