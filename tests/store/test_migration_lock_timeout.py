"""A migration that cannot get its table lock gives up instead of stopping every replica's writes.

Why: an index migration (0008, 0009 on ``jobs``) needs a lock that waits for the transactions
writing to the table, and PostgreSQL queues every later writer behind the waiting migration. One
transaction left open (an operator's ``psql`` session, a stuck worker) therefore made a replica
starting up block every other replica's job creation, claims and heartbeats, for as long as it
stayed open. The migration now waits at most ``MIGRATION_LOCK_TIMEOUT_S``, fails (the first use
that ran it answers 503, the next tries again), and the writers go on.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import inspect

from capsight.store import alembic_support
from capsight.store.database import Database
from capsight.store.database_errors import database_error
from capsight.store.models import utcnow


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

    with psycopg.connect(dsn) as open_session, psycopg.connect(dsn, autocommit=True) as other_replica:
        open_session.execute("LOCK TABLE jobs IN ROW EXCLUSIVE MODE")  # wrote to jobs, not committed
        migrating = threading.Thread(target=migrate)
        migrating.start()
        time.sleep(0.3)  # the migration is waiting for its lock
        other_replica.execute("SET statement_timeout = '4s'")
        started = time.monotonic()
        other_replica.execute(
            "INSERT INTO jobs (id, state, client_id, created_at, updated_at, total, done, failed, "
            "cancel_requested, abandoned_runs) VALUES ('new', 'queued', 'c', %s, %s, 1, 0, 0, false, 0)",
            (utcnow(), utcnow()),
        )
        waited = time.monotonic() - started
        migrating.join(10)
        open_session.rollback()
    assert waited < 2.5, f"another replica's job insert waited {waited:.1f} s behind the migration"
    assert outcome and outcome[0] is not None, "the blocked migration should have given up"
    # What `capsight db upgrade` prints: the database answered, so not "cannot reach" it.
    said = str(database_error(pg_db.url, outcome[0]))
    assert "cannot reach" not in said and "transaction left open" in said, said
    starting.migrate()  # the lock free again: the next try migrates
    assert "ix_jobs_created" in {ix["name"] for ix in inspect(starting.engine).get_indexes("jobs")}
    starting.dispose()
