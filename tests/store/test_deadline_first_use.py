"""A request's database call waits for the database's first use (its migration) without that wait
counting against the call's deadline; only a first use that does not end at all is answered 503.

Why: a server migrates on its first database use (the request log's thread starts it, any request
arriving meanwhile waits for it), and the wait counted against the request's 5 s deadline. On a
loaded host the migration took longer than that (23 s on two busy cores) and the first requests were
answered 503 "The database is unavailable" while the database was healthy and being migrated; the
same happened while another ``capsight serve`` worker held the migration lock.
"""

from __future__ import annotations

import asyncio
import fcntl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from capsight.store import deadline, sqlalchemy_import
from capsight.store.database import Database
from capsight.store.feedback import FeedbackEntry, FeedbackStore
from capsight.store.models import FeedbackRow

ENTRY = FeedbackEntry("req-1", 0, "ip:127.0.0.1", True, "bottle-status", "opened")
DEADLINE_S = 0.3


def _feedback_rows(db: Database) -> int:
    with db.session() as session:
        return session.query(FeedbackRow).count()


class _OtherWorkerMigrating:
    """The migration lock of a SQLite file, held as another worker's migration holds it."""

    def __init__(self, path: Path) -> None:
        self._handle = open(path.with_name(path.name + ".migrate.lock"), "a")  # noqa: SIM115
        fcntl.flock(self._handle, fcntl.LOCK_EX)

    def release(self) -> None:
        if not self._handle.closed:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()


@pytest.fixture
def fresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Database, _OtherWorkerMigrating]]:
    monkeypatch.setattr(deadline, "DB_CALL_TIMEOUT_S", DEADLINE_S)
    path = tmp_path / "capsight.db"
    lock = _OtherWorkerMigrating(path)
    try:
        yield Database(f"sqlite:///{path}"), lock
    finally:
        lock.release()


def _release_once_past_the_deadline(lock: _OtherWorkerMigrating | threading.Lock) -> threading.Thread:
    """Lets the first use go once the call has waited on it three times its deadline: a lower bound,
    so a slow machine makes the wait longer, never shorter."""

    def run() -> None:
        while deadline._in_flight == 0:  # the call has not reached its database thread yet
            time.sleep(0.01)
        time.sleep(3 * DEADLINE_S)
        lock.release()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_call_waits_out_a_first_use_migration_longer_than_its_deadline(
    fresh: tuple[Database, _OtherWorkerMigrating],
) -> None:
    db, lock = fresh
    releaser = _release_once_past_the_deadline(lock)
    feedback_id = asyncio.run(deadline.call_with_deadline(FeedbackStore(db).add, ENTRY))
    releaser.join()
    assert feedback_id > 0 and _feedback_rows(db) == 1


def test_a_call_waits_out_sqlalchemys_import_on_another_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job worker's thread importing SQLAlchemy (seconds on a loaded host) as a request came."""
    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    db.ensure_ready()
    monkeypatch.setattr(deadline, "DB_CALL_TIMEOUT_S", DEADLINE_S)
    monkeypatch.setattr(sqlalchemy_import, "_sqlalchemy_loaded", False)
    importing = threading.Lock()
    monkeypatch.setattr(sqlalchemy_import, "_SQLALCHEMY_IMPORT", importing)
    importing.acquire()
    releaser = _release_once_past_the_deadline(importing)
    feedback_id = asyncio.run(deadline.call_with_deadline(FeedbackStore(db).add, ENTRY))
    releaser.join()
    assert feedback_id > 0 and _feedback_rows(db) == 1


def test_a_first_use_that_does_not_end_is_still_answered_503(
    fresh: tuple[Database, _OtherWorkerMigrating], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frozen database, or a migration lock nobody lets go, must not hold the request for ever."""
    db, lock = fresh
    monkeypatch.setattr(deadline, "DB_FIRST_USE_TIMEOUT_S", 2 * DEADLINE_S)

    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            await deadline.call_with_deadline(FeedbackStore(db).add, ENTRY)
        lock.release()  # the abandoned call migrates now, and its write is rolled back

    asyncio.run(scenario())
    assert deadline.wait_for_calls(30)
    assert _feedback_rows(db) == 0  # the client was told 503, "retry": a retry must not make two


def test_a_wait_inside_a_wait_leaves_the_outer_one_set_aside() -> None:
    """The migration imports SQLAlchemy: the import's wait ending must not end the migration's."""

    async def scenario() -> tuple[bool, bool]:
        def nested() -> tuple[bool, bool]:
            guard = deadline.COMMIT_GUARD.get()
            assert guard is not None
            with deadline.first_use_wait():
                with deadline.first_use_wait():
                    pass
                inside = guard.aside()[1]
            return inside, guard.aside()[1]

        return await deadline.call_with_deadline(nested)

    assert asyncio.run(scenario()) == (True, False)
