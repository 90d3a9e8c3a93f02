"""A migration that cannot get its table lock gives up instead of stopping every replica's writes.

Why: an index migration (0008, 0009 on ``jobs``) needs a lock that waits for the transactions
writing to the table, and PostgreSQL queues every later writer behind the waiting migration. One
transaction left open (an operator's ``psql`` session, a stuck worker) therefore made a replica
starting up block every other replica's job creation, claims and heartbeats, for as long as it
stayed open. The migration now waits at most ``MIGRATION_LOCK_TIMEOUT_S``, fails (the first use
that ran it answers 503, the next tries again), and the writers go on.

Staged, not timed: the open transaction stays open until the other replica's insert has been
answered and the migration has given up; before, the insert waited behind the migration, which
waited for that transaction, until the insert's own statement timeout (a guard against a hang, far
longer than the migration's lock timeout) cancelled it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from sqlalchemy import inspect

from capsight.store import alembic_support
from capsight.store.database import Database
from capsight.store.database_errors import database_error
from capsight.store.models import utcnow

# A guard against a hang, not a time limit: far longer than the migration's lock timeout (1 s here).
_GUARD_S = 30


def _until_one_waits_on_a_lock(watcher: psycopg.Connection[Any]) -> None:
    """Until a session of this database waits on a lock (polled; each query its own transaction,
    as pg_stat_activity is read once per transaction)."""
    for _ in range(_GUARD_S * 50):
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()
        if row is not None and int(row[0]) > 0:
            return
        time.sleep(0.02)
    pytest.fail("the migration never waited for its lock")


@pytest.mark.postgres
def test_a_migration_blocked_by_an_open_transaction_lets_writers_through(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alembic_support, "MIGRATION_LOCK_TIMEOUT_S", 1.0)
    pg_db.migrate("0008")
    dsn = pg_db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    starting = Database(pg_db.url)  # a replica of the new release, starting
    outcome: list[BaseException | None] = []

    def migrate() -> None:
        try:
            starting.migrate()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    with (
        psycopg.connect(dsn) as open_session,
        psycopg.connect(dsn, autocommit=True) as other_replica,
        psycopg.connect(dsn, autocommit=True) as watcher,
    ):
        open_session.execute("LOCK TABLE jobs IN ROW EXCLUSIVE MODE")  # wrote to jobs, not committed
        migrating = threading.Thread(target=migrate)
        migrating.start()
        _until_one_waits_on_a_lock(watcher)  # the migration, queued behind the open transaction
        other_replica.execute(f"SET statement_timeout = '{_GUARD_S}s'")
        try:
            other_replica.execute(
                "INSERT INTO jobs (id, state, client_id, created_at, updated_at, total, done, failed, "
                "cancel_requested, abandoned_runs) VALUES ('new', 'queued', 'c', %s, %s, 1, 0, 0, false, 0)",
                (utcnow(), utcnow()),
            )
            inserted = True
        except psycopg.errors.QueryCanceled:  # before: queued behind the migration until the guard
            inserted = False
        migrating.join(_GUARD_S)
        gave_up_while_open = not migrating.is_alive()
        open_session.rollback()  # only now does the open transaction end
        migrating.join(_GUARD_S)
    assert inserted, "another replica's job insert waited behind the migration for the open transaction"
    assert gave_up_while_open and outcome and outcome[0] is not None, (
        "the blocked migration should have given up"
    )
    # What `capsight db upgrade` prints: the database answered, so not "cannot reach" it.
    said = str(database_error(pg_db.url, outcome[0]))
    assert "cannot reach" not in said and "transaction left open" in said, said
    starting.migrate()  # the lock free again: the next try migrates
    assert "ix_jobs_created" in {ix["name"] for ix in inspect(starting.engine).get_indexes("jobs")}
    starting.dispose()
