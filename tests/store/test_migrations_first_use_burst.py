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
from concurrent.futures import Future

import psycopg
import pytest
from sqlalchemy import event, text

from capsight.store import database as database_module
from capsight.store import first_use as first_use_module
from capsight.store.database import Database


def _use(db: Database, errors: list[BaseException]) -> None:
    try:
        with db.session() as session:
            session.execute(text("SELECT 1"))
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.postgres
def test_threads_waiting_for_the_migration_hold_no_connection(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(first_use_module, "Future", _WaitedFuture)
    monkeypatch.setattr(_WaitedFuture, "waiting", 0)
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
        # Counted once the other 11 wait for the migration (not after a sleep: on a loaded machine
        # fewer had arrived by then). Before the fix none waited so; each held a connection instead.
        with _WaitedFuture.changed:
            _WaitedFuture.changed.wait_for(lambda: _WaitedFuture.waiting >= 11, 15)
        deadline = time.monotonic() + 15
        while not opened and time.monotonic() < deadline:  # the migrating thread's own connection
            time.sleep(0.01)
        waiting = len(opened)
        other_replica.execute("SELECT pg_advisory_unlock(%s)", (database_module._PG_MIGRATION_LOCK,))
    for t in threads:
        t.join(30)
    assert errors == []
    assert waiting == 1, f"{waiting} connections opened by threads waiting for one migration"


class _WaitedFuture(Future[None]):
    """The running attempt's outcome, counting the threads that wait for it."""

    waiting = 0
    lock = threading.Lock()
    changed = threading.Condition(lock)

    def result(self, timeout: float | None = None) -> None:
        with self.changed:
            type(self).waiting += 1
            self.changed.notify_all()
        return super().result(timeout)


class _HeldMigration:
    """The first attempt, held until the other threads wait for its outcome; every attempt counted."""

    def __init__(self, db: Database, others: int) -> None:
        self.real, self.others, self.attempts = db.migrate, others, 0

    def __call__(self) -> None:
        self.attempts += 1
        if self.attempts == 1:  # a deadlock breaker only: threads that never wait leave it after 10 s
            with _WaitedFuture.changed:
                _WaitedFuture.changed.wait_for(lambda: _WaitedFuture.waiting >= self.others, 10)
        self.real()


def test_a_failed_first_use_is_shared_and_the_next_call_tries_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting threads share the attempt's outcome; a later call tries again (a database that was
    down at start is migrated once it answers). Staged, not timed: the first attempt is held until
    the other five threads wait for it, then fails."""
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_timeout=1)
    monkeypatch.setattr(first_use_module, "Future", _WaitedFuture)
    monkeypatch.setattr(_WaitedFuture, "waiting", 0)
    held = _HeldMigration(db, others=5)
    monkeypatch.setattr(db, "migrate", held)
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_use, args=(db, errors)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(errors) == 6
    # Before: the threads tried one after another, a connect timeout each, each its own error.
    assert held.attempts == 1, f"{held.attempts} attempts: the threads tried one after another"
    assert len({id(e) for e in errors}) == 1, "the waiting threads did not share the attempt's error"
    with pytest.raises(Exception, match="connection"):  # tried again, not a failure kept for ever
        db.ensure_ready()
    assert held.attempts == 2
    db.dispose()
