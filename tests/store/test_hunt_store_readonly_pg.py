"""A PostgreSQL that refuses writes for a while (read-only: a managed database over its disk quota,
a primary demoted to standby by a failover) is an outage: the request log spools and replays, it
does not set every record aside as if each were bad data."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from store_records import make_record

from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.requestlog import RequestLog
from servers import PostgresServer

FAST = RecorderConfig(batch_size=50, retry_initial_s=0.05, retry_max_s=0.2)


def _read_only(server: PostgresServer, name: str, on: bool) -> None:
    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user={server.user} dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}')


@pytest.mark.postgres
def test_a_read_only_database_is_an_outage_and_the_records_are_replayed(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.create_database()
    name = make_url(url).database
    assert name
    setup = Database(url)
    setup.ensure_ready()
    setup.dispose()
    _read_only(postgres_server, name, True)

    db = Database(url)
    recorder = DatabaseRecorder(db, None, tmp_path / "spool", FAST).start()
    try:
        for i in range(5):
            recorder.submit(make_record(request_id=f"ro-{i}"), None)
        with recorder._progress:  # every record handled: written, spooled or set aside
            assert recorder._progress.wait_for(lambda: recorder._processed >= 5, timeout=20)
        stats = recorder.stats()
        assert stats.rejected == 0, "records refused by a read-only database were set aside as bad data"
        assert stats.spooled == 5 and stats.degraded

        _read_only(postgres_server, name, False)  # the quota is raised, the failover completes
        assert recorder.flush(20), "the spool was not replayed once the database took writes again"
        assert RequestLog(db, None).count() == 5
    finally:
        recorder.close()
        db.dispose()
