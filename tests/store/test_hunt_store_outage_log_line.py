"""The outage warning of the request log is one line: SQLAlchemy's text of an error raised by a
statement goes on with the SQL and every parameter of the batch (client ids, request ids,
probabilities), which do not belong in a log line about the database being unavailable."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from store_records import make_record

from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from servers import PostgresServer

FAST = RecorderConfig(batch_size=50, retry_initial_s=0.05, retry_max_s=0.2)


@pytest.mark.postgres
def test_the_outage_warning_is_one_line_without_the_batch(
    postgres_server: PostgresServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = postgres_server.create_database()
    name = make_url(url).database
    setup = Database(url)
    setup.ensure_ready()
    setup.dispose()
    admin = f"host=127.0.0.1 port={postgres_server.port} user={postgres_server.user} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:  # the database refuses writes: INSERT fails
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    db = Database(url)
    recorder = DatabaseRecorder(db, None, tmp_path / "spool", FAST)
    try:
        with caplog.at_level(logging.WARNING, logger="capsight.store.recorder"):
            recorder.start()
            recorder.submit(make_record(request_id="secret-request-id", client_id="key-xyz"), None)
            with recorder._progress:
                assert recorder._progress.wait_for(lambda: recorder._processed >= 1, timeout=20)
        [warning] = [r.getMessage() for r in caplog.records if "spooling to" in r.getMessage()]
        assert "\n" not in warning
        assert "secret-request-id" not in warning and "key-xyz" not in warning
        assert "read-only" in warning  # the reason itself stays
    finally:
        recorder.close()
        db.dispose()
