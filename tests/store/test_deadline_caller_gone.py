"""A request's database call whose caller is gone (answered 503 at its deadline, or its handler
cancelled: the client hung up) no longer runs for nobody.

Found: with every pooled connection taken (15: held by the request log's writer, job workers, hung
queries), a call answered 503 after its 5 s went on waiting for a connection for SQLAlchemy's 30 s
pool timeout, holding one of the 10 database threads; ten such calls and every request's call sat
behind them. And a call still queued for a thread when its caller went ran later all the same: after
a database stall, the backlog of calls of requests long answered ran first, each taking a thread and
a connection, while the requests of the moment waited behind them and were answered 503 in turn.
Now a call whose caller is gone before it started is skipped, and a call waits for a connection no
longer than its caller's deadline. Real SQLite file, its real connection pool.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc, text

from capsight.store import deadline
from capsight.store.database import Database

POOLED = 15  # the engine's pool: 5 + 10 overflow


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    database.ensure_ready()
    yield database
    database.dispose()


class _Calls:
    """Database calls that note that they began and whether they got to run their query."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.lock = threading.Lock()
        self.began: list[str] = []
        self.queried: list[str] = []
        self.failed: dict[str, str] = {}

    def read(self, name: str) -> int:
        with self.lock:
            self.began.append(name)
        try:
            with self.db.session() as session:
                value = int(session.execute(text("SELECT 1")).scalar_one())
        except Exception as exc:
            with self.lock:
                self.failed[name] = type(exc).__name__
            raise
        with self.lock:
            self.queried.append(name)
        return value


def _hold_every_connection(db: Database) -> list[Any]:
    return [db.engine.connect() for _ in range(POOLED)]


def _release(held: list[Any]) -> None:
    for connection in held:
        connection.close()


@pytest.mark.parametrize("gone", ["timed out", "cancelled"])
def test_a_call_whose_caller_went_before_it_started_is_not_run(db: Database, gone: str) -> None:
    calls = _Calls(db)
    held = _hold_every_connection(db)

    async def scenario() -> list[object]:
        # Patient calls take every database thread, waiting for a connection.
        patient = [
            asyncio.ensure_future(deadline.call_with_deadline(calls.read, f"patient-{i}", timeout=60.0))
            for i in range(deadline.DB_THREADS)
        ]
        # Calls of requests queued behind them, whose callers then go.
        queued = [
            asyncio.ensure_future(deadline.call_with_deadline(calls.read, f"gone-{i}", timeout=0.2))
            for i in range(5)
        ]
        if gone == "cancelled":
            await asyncio.sleep(0.05)
            for task in queued:
                task.cancel()
        outcomes = await asyncio.gather(*queued, return_exceptions=True)
        assert all(isinstance(o, TimeoutError | asyncio.CancelledError) for o in outcomes), outcomes
        _release(held)  # the stall ends
        return await asyncio.gather(*patient, return_exceptions=True)

    answered = asyncio.run(scenario())
    assert deadline.wait_for_calls(30)
    assert answered == [1] * deadline.DB_THREADS  # the patient calls were answered
    ran = [name for name in calls.began if name.startswith("gone-")]
    assert ran == [], f"calls whose callers were gone ran anyway: {ran}"


def test_a_call_answered_503_stops_waiting_for_a_connection(db: Database) -> None:
    calls = _Calls(db)
    held = _hold_every_connection(db)

    async def scenario() -> None:
        for outcome in await asyncio.gather(
            *(deadline.call_with_deadline(calls.read, f"gone-{i}", timeout=0.3) for i in range(3)),
            return_exceptions=True,
        ):
            # The caller's deadline, or the pool's wait bounded by it, whichever came first: 503.
            assert isinstance(outcome, TimeoutError | exc.TimeoutError), outcome

    try:
        asyncio.run(scenario())
        # While every connection is still taken: the threads of the calls answered 503 are let go
        # (before, each waited out the pool's 30 s timeout, and then ran its query for nobody).
        deadline.wait_for_calls(20)
    finally:
        _release(held)
    assert deadline.wait_for_calls(30)
    assert sorted(calls.began) == ["gone-0", "gone-1", "gone-2"]
    assert calls.queried == [], f"calls answered 503 got a connection and ran: {calls.queried}"
    assert set(calls.failed.values()) == {"TimeoutError"}, calls.failed
