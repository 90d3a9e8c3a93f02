"""A PostgreSQL call held by the server (a table lock of a VACUUM FULL, a newer release's migration,
an operator's open transaction) gives up after bounded time and frees its thread; the paths that
legitimately wait long (migrations, the CLI's commands) are not cut.

Why: the caller's deadline answered the request 503 on time, but its thread stayed blocked for as
long as the lock was held, and the API has only a few database threads: one held lock slowly took
them all. Staged, not timed: each timeout is made small, and the blocked call must have ended while
the lock is still held; the guard below bounds only the test itself.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy.exc import OperationalError
from store_records import make_record

from capsight.store import commands
from capsight.store import database as database_module
from capsight.store.database import _PG_MIGRATION_LOCK, Database
from capsight.store.logwriter import insert_rows
from capsight.store.purge import purge_older_than
from capsight.store.requestlog import RequestLog
from servers import PostgresServer

# A guard against a hang, not a time limit: far longer than the timeouts the tests set (0.5 s).
_GUARD_S = 20


def _dsn(db: Database) -> str:
    """libpq's URL of ``db`` (its schema's search path included), for a plain psycopg connection."""
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(fn: Any) -> tuple[threading.Thread, list[BaseException | None]]:
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.postgres
def _until_waiting_a_second(watcher: Any, wait: str, thread: threading.Thread) -> None:
    """Until the server shows a session waiting (``wait``, a pg_stat_activity condition) for over a
    second, past every timeout the test set, or ``thread`` has ended."""
    for _ in range(_GUARD_S * 50):
        row = watcher.execute(
            f"SELECT count(*) FROM pg_stat_activity WHERE {wait}"
            " AND clock_timestamp() - query_start > interval '1 second'"
        ).fetchone()
        if (row is not None and int(row[0]) > 0) or not thread.is_alive():
            return
        time.sleep(0.02)


def test_a_log_write_held_by_a_table_lock_frees_its_thread_while_the_lock_is_held(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "PG_LOCK_TIMEOUT_S", 0.5, raising=False)
    pg_db.ensure_ready()
    with psycopg.connect(_dsn(pg_db)) as holder:  # a VACUUM FULL, or a migration of a newer release
        holder.execute("LOCK TABLE requests IN ACCESS EXCLUSIVE MODE")
        writing, outcome = _run(lambda: insert_rows(pg_db, [(make_record(), None)], {}))
        writing.join(_GUARD_S)
        freed_while_held = not writing.is_alive()
        holder.rollback()  # only now does the lock go
    writing.join(_GUARD_S)
    assert freed_while_held, "the insert held its thread for as long as the table lock was held"
    error = outcome[0]
    assert isinstance(error, OperationalError), error
    assert isinstance(error.orig, psycopg.errors.LockNotAvailable), error.orig
    insert_rows(pg_db, [(make_record(), None)], {})  # the same connections work once the lock is gone


@pytest.mark.postgres
def test_a_statement_the_server_holds_is_cancelled(pg_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_module, "PG_STATEMENT_TIMEOUT_S", 0.5, raising=False)
    with pg_db.engine.connect() as connection, pytest.raises(OperationalError) as raised:
        connection.exec_driver_sql(f"SELECT pg_sleep({_GUARD_S})")  # a frozen server, an I/O stall
    assert isinstance(raised.value.orig, psycopg.errors.QueryCanceled), raised.value.orig


@pytest.mark.postgres
def test_a_migration_waits_for_another_replicas_migration_past_the_timeouts(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "PG_LOCK_TIMEOUT_S", 0.2, raising=False)
    monkeypatch.setattr(database_module, "PG_STATEMENT_TIMEOUT_S", 0.2, raising=False)
    starting = Database(postgres_server.create_schema())  # a replica starting on an empty schema
    try:
        with (
            psycopg.connect(_dsn(starting), autocommit=True) as other_replica,
            psycopg.connect(_dsn(starting), autocommit=True) as watcher,
        ):
            other_replica.execute("SELECT pg_advisory_lock(%s)", (_PG_MIGRATION_LOCK,))  # migrating
            migrating, outcome = _run(starting.migrate)
            # Until the server says the migration has waited for the lock five times the timeouts.
            _until_waiting_a_second(watcher, "wait_event = 'advisory'", migrating)
            still_waiting = migrating.is_alive()
            other_replica.execute("SELECT pg_advisory_unlock(%s)", (_PG_MIGRATION_LOCK,))
            migrating.join(_GUARD_S)
        assert still_waiting, f"the migration gave up waiting for the other replica's: {outcome}"
        assert outcome == [None]
        with starting.engine.connect() as connection:  # migrated, then bounded like every other use
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "200ms"
    finally:
        starting.dispose()


@pytest.mark.postgres
def test_the_serving_engine_is_bounded_and_the_cli_is_not(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_schema()
    serving = Database(url)
    try:
        with serving.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "30s"
            assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "5s"
    finally:
        serving.dispose()
    # `capsight db purge` of a year of rows, `capsight feedback export`, `capsight db status`'s counts
    # of a large log: an operator's command runs as long as it needs, at a terminal that can stop it.
    with commands._database(url) as cli, cli.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
        assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "0"


@pytest.mark.postgres
def test_an_operators_own_timeout_is_kept(postgres_server: PostgresServer) -> None:
    # Set on the role, the database or in the URL: what the operator chose, not capsight's default.
    db = Database(postgres_server.create_schema() + "%20-cstatement_timeout%3D2min")
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "2min"
            assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "5s"
    finally:
        db.dispose()


@pytest.mark.postgres
def test_the_retention_purge_is_not_cut_by_the_statement_timeout(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "PG_STATEMENT_TIMEOUT_S", 0.2, raising=False)
    monkeypatch.setattr(database_module, "PG_LOCK_TIMEOUT_S", _GUARD_S, raising=False)
    old = make_record(created_at=datetime.now(UTC) - timedelta(days=10))
    insert_rows(pg_db, [(old, None)], {})
    assert RequestLog(pg_db, None).count() == 1
    with (
        psycopg.connect(_dsn(pg_db)) as writer,
        psycopg.connect(_dsn(pg_db), autocommit=True) as watcher,
    ):
        # A delete that takes long: here, one waiting for a row another transaction holds.
        writer.execute("SELECT 1 FROM requests WHERE request_id = %s FOR UPDATE", (old.request_id,))
        purging, outcome = _run(lambda: purge_older_than(pg_db, None, days=1))
        _until_waiting_a_second(watcher, "wait_event_type = 'Lock'", purging)
        still_purging = purging.is_alive()
        writer.rollback()
        purging.join(_GUARD_S)
    assert still_purging, f"the purge's delete was cut: {outcome}"
    assert outcome == [None]
    assert RequestLog(pg_db, None).count() == 0
