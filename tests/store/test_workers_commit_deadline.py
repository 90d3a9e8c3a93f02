"""A request's database call answered 503 at its deadline must not write anyway once the thread it ran
in gets the database (two ``capsight serve`` workers share one SQLite file: one holds the write lock,
the other's request times out), and a write that committed in time is answered, not 503."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from capsight.store.database import Database
from capsight.store.deadline import call_with_deadline
from capsight.store.feedback import FeedbackEntry, FeedbackStore
from capsight.store.models import FeedbackRow

ENTRY = FeedbackEntry("req-1", 0, "ip:127.0.0.1", True, "bottle-status", "opened")


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    database.ensure_ready()
    return database


def _feedback_rows(db: Database) -> int:
    with db.session() as session:
        return session.query(FeedbackRow).count()


def test_a_write_that_missed_its_deadline_is_not_kept(db: Database, tmp_path: Path) -> None:
    other_worker = sqlite3.connect(tmp_path / "capsight.db", isolation_level=None)
    other_worker.execute("BEGIN IMMEDIATE")  # a long write of the other worker holds the lock

    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            await call_with_deadline(FeedbackStore(db).add, ENTRY, timeout=0.3)
        other_worker.execute("COMMIT")  # the lock goes: the abandoned thread gets it now

    asyncio.run(scenario())  # returns once the executor's threads, the abandoned one too, are done
    other_worker.close()
    assert _feedback_rows(db) == 0  # the client was told 503, "retry": a retry must not make two


def test_a_write_committed_before_its_deadline_is_answered(db: Database) -> None:
    def add_then_dawdle() -> int:
        feedback_id = FeedbackStore(db).add(ENTRY)
        time.sleep(0.6)  # committed; the call returns after its deadline (a slow pool release, say)
        return feedback_id

    feedback_id = asyncio.run(call_with_deadline(add_then_dawdle, timeout=0.2))
    assert feedback_id > 0 and _feedback_rows(db) == 1
