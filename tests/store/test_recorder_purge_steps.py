"""The retention purge runs in steps between the request log's batches, not as one long stall.

Why: the purge runs on the recorder's writer thread and deleted everything due in one go, writing
nothing meanwhile. Each hourly purge holds an hour of traffic (360,000 rows at 100 requests a
second; SQLite purges ~10,000 a second here), and the first one after retention is turned on
holds the whole old log: for that long no record was written, the queue filled, and its overflow
went to the spool (images past its budget dropped). Now each step purges for at most
``purge_step_s`` and the next one follows the next batch, until nothing is due.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_records import make_record

from capsight.store.batchwriter import BatchWriter
from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.requestlog import RequestLog

OLD = datetime.now(UTC) - timedelta(days=40)
ROWS = 12_000


def _old_log(folder: Path, rows: int) -> tuple[Database, LocalBlobStore]:
    database = Database(f"sqlite:///{folder / 'log.db'}")
    blobs = LocalBlobStore(folder / "images")
    writer = BatchWriter(database, blobs, folder)
    for start in range(0, rows, 2000):
        count = min(2000, rows - start)
        writer.write(
            [(make_record(request_id=f"old-{start + n}", created_at=OLD), None) for n in range(count)]
        )
    return database, blobs


def test_a_record_is_written_while_a_long_purge_is_still_going(tmp_path: Path) -> None:
    database, blobs = _old_log(tmp_path, ROWS)
    log = RequestLog(database, blobs)
    config = RecorderConfig(retention_days=30, purge_step_s=0.1, linger_s=0.0, retry_initial_s=0.05)
    recorder = DatabaseRecorder(database, blobs, tmp_path / "spool", config).start()
    try:
        deadline = time.monotonic() + 20
        while log.count() == ROWS:  # the purge has begun
            assert time.monotonic() < deadline, "the purge never started"
            time.sleep(0.01)
        recorder.submit(make_record(request_id="during-the-purge"), None)
        assert recorder.flush(10), recorder.stats()
        left = log.count() - 1
        assert left > 0, "the record waited for the whole purge"
        while log.count() > 1:  # the next steps follow without waiting for purge_interval_s
            assert time.monotonic() < deadline, f"the purge stopped with {log.count() - 1} old rows left"
            time.sleep(0.05)
        assert [row.request_id for row in log.list_requests(limit=10).items] == ["during-the-purge"]
    finally:
        recorder.close()
        database.dispose()


def test_with_no_traffic_the_steps_follow_each_other_at_once(tmp_path: Path) -> None:
    """Between two steps the writer waited up to 0.2 s for a record that did not come: an idle
    server purged a twentieth of the time with 0.01 s steps (6,000 rows: 1.3 s where one go takes
    0.08 s)."""
    rows = 6000
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    alone_db, alone_blobs = _old_log(tmp_path / "a", rows)
    started = time.monotonic()
    assert RequestLog(alone_db, alone_blobs).purge_older_than(30).requests == rows
    alone = time.monotonic() - started
    alone_db.dispose()

    database, blobs = _old_log(tmp_path / "b", rows)
    log = RequestLog(database, blobs)
    config = RecorderConfig(retention_days=30, purge_step_s=0.01, retry_initial_s=0.05)
    started = time.monotonic()
    recorder = DatabaseRecorder(database, blobs, tmp_path / "spool", config).start()
    try:
        while log.count():
            assert time.monotonic() - started < 30, f"{log.count()} rows left"
            time.sleep(0.01)
        stepped = time.monotonic() - started
    finally:
        recorder.close()
        database.dispose()
    assert stepped < 2.5 * alone + 0.3, f"stepped {stepped:.2f} s, in one go {alone:.2f} s"


def test_a_purge_in_steps_is_logged_once_with_its_totals(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each step's call logged the purge as if whole: the last step's few rows, where the operator
    wants what the whole purge removed."""
    database, blobs = _old_log(tmp_path, 3000)
    log = RequestLog(database, blobs)
    config = RecorderConfig(retention_days=30, purge_step_s=0.0, retry_initial_s=0.05)  # a chunk a step
    with caplog.at_level(logging.INFO, logger="capsight.store.requestlog"):
        recorder = DatabaseRecorder(database, blobs, tmp_path / "spool", config).start()
        try:
            deadline = time.monotonic() + 20
            while log.count() or not any("retention purge" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline, f"{log.count()} rows left"
                time.sleep(0.01)
        finally:
            recorder.close()
            database.dispose()
    lines = [r.getMessage() for r in caplog.records if "retention purge" in r.getMessage()]
    assert len(lines) == 1 and "3000 requests," in lines[0], lines
