"""A replica's first requests wait for its one migration without each holding a connection.

Why: a server migrates on its first database use, not before it takes traffic, and every request
thread that arrived before the migration ended ran one of its own: each took a pooled connection
and waited on the PostgreSQL migration lock with it (held meanwhile by the replica migrating, or by
the first of its own threads). A burst at start opened up to the pool's 15 connections per process:
four replicas of 20 request threads each against the test server's ``max_connections=50`` failed 10
of 80 calls with "FATAL: sorry, too many clients already", a failure every replica then shared. One
thread of a process migrates; the others wait for its outcome, holding no connection.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import event, text

from capsight.store import database as database_module
from capsight.store.database import Database


def _use(db: Database, errors: list[BaseException]) -> None:
    try:
        with db.session() as session:
            session.execute(text("SELECT 1"))
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.postgres
def test_threads_waiting_for_the_migration_hold_no_connection(pg_db: Database) -> None:
    opened: list[object] = []
    event.listen(pg_db.engine, "connect", lambda *args: opened.append(args[0]))
    dsn = pg_db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as other_replica:
        # Another replica migrating the shared database: it holds the migration lock.
        other_replica.execute("SELECT pg_advisory_lock(%s)", (database_module._PG_MIGRATION_LOCK,))
        errors: list[BaseException] = []
        threads = [threading.Thread(target=_use, args=(pg_db, errors)) for _ in range(12)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        waiting = len(opened)
        other_replica.execute("SELECT pg_advisory_unlock(%s)", (database_module._PG_MIGRATION_LOCK,))
    for t in threads:
        t.join(30)
    assert errors == []
    assert waiting == 1, f"{waiting} connections opened by threads waiting for one migration"


def test_a_failed_first_use_is_shared_and_the_next_call_tries_again() -> None:
    """Waiting threads share the attempt's outcome; a later call tries again (a database that was
    down at start is migrated once it answers)."""
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_timeout=1)
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_use, args=(db, errors)) for _ in range(6)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    took = time.monotonic() - started
    assert len(errors) == 6
    assert took < 5, f"{took:.1f} s: the threads tried one after another"
    with pytest.raises(Exception, match="connection"):  # tried again, not a failure kept for ever
        db.ensure_ready()
    db.dispose()
