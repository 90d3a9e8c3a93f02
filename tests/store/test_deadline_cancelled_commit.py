"""A database call cancelled (its client gone, the server shutting down) while its commit is under way
ends only once that commit has: the caller's cleanup must know whether the write landed.

Found: the CancelledError went on at once, the commit still running in its thread. A zip job's
handler then deleted the job's upload while its row landed: a job that failed later for a missing
upload. Real SQLite file, the commit held inside SQLAlchemy's own commit by a listener.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text

from capsight.store import deadline
from capsight.store.database import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    database.ensure_ready()
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE landed (x INTEGER)"))
    yield database
    database.dispose()


def _rows(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(text("SELECT COUNT(*) FROM landed")).scalar_one())


def test_a_call_cancelled_during_its_commit_ends_after_the_commit(db: Database) -> None:
    committing = threading.Event()
    release = threading.Event()

    def write() -> None:
        with db.session() as session, session.begin():
            session.execute(text("INSERT INTO landed (x) VALUES (1)"))

            def hold(_session: object) -> None:  # after the call's own guard: the commit has begun
                committing.set()
                assert release.wait(30)

            event.listen(session, "before_commit", hold)

    async def scenario() -> tuple[bool, int]:
        call = asyncio.ensure_future(deadline.call_with_deadline(write, timeout=30.0))
        await asyncio.to_thread(committing.wait, 30)
        call.cancel()  # the client went
        await asyncio.wait({call}, timeout=0.5)
        ended_during_commit = call.done()
        call.cancel()  # and the server shuts down: cancelled again
        await asyncio.wait({call}, timeout=0.5)
        ended_during_commit |= call.done()
        release.set()
        try:
            await call
        except asyncio.CancelledError:
            return ended_during_commit, _rows(db)  # what the caller's cleanup would look at
        raise AssertionError("the cancelled call was answered as if nobody had gone")

    ended_during_commit, rows_seen = asyncio.run(scenario())
    assert not ended_during_commit, "the call ended while its commit was still under way"
    assert rows_seen == 1  # by the time the caller heard of its cancellation, the row had landed
    assert deadline.wait_for_calls(10)


def test_a_call_cancelled_before_its_commit_never_commits(db: Database) -> None:
    """The other side, unchanged: cancelled before its commit began, the write is rolled back."""
    started = threading.Event()
    release = threading.Event()

    def write() -> None:
        with db.session() as session, session.begin():
            session.execute(text("INSERT INTO landed (x) VALUES (1)"))
            started.set()
            assert release.wait(30)

    async def scenario() -> None:
        call = asyncio.ensure_future(deadline.call_with_deadline(write, timeout=30.0))
        await asyncio.to_thread(started.wait, 30)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call  # at once: no commit has begun
        release.set()

    asyncio.run(scenario())
    assert deadline.wait_for_calls(10)
    assert _rows(db) == 0
