"""Database calls waiting on a hung database leave the event loop's other thread work alone.

Why: ``call_with_deadline`` ran each database call on asyncio's default executor, which has
``min(32, cores + 4)`` threads (6 on a 2-core pod) and is what every other ``asyncio.to_thread`` of
the server uses (a zip job's upload and inspection, a model reload's warm-up, shutdown). A database
that hung (a lock held, a frozen server) kept each call's thread until the driver gave up, so six
requests stalled all of that work too, and six calls at once were all a process could run even with
a healthy database and 15 pooled connections. Database calls have threads of their own: 10, so
that calls hung on one table leave 5 connections to the request log's writer, job workers and purge.

Staged, not timed: the hung calls are held by a table lock the test takes, the test waits until the
database shows them waiting on it, and the other work must be done while they are still held (the
lock is let go only after). Before, that work waited behind them until the lock went.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import text

from capsight.store import deadline
from capsight.store.database import Database
from capsight.store.keys import KeyStore

# A guard against a test that hangs, not a time limit: the work asked for while the calls are held
# costs a thread's start (a no-op) or one quick query; before, it waited until the lock went.
_HELD_GUARD_S = 20.0


def _waiting_on_lock(locker: Database) -> int:
    """Sessions of this database now waiting on a lock (a fresh transaction: pg_stat_activity is
    read once per transaction)."""
    with locker.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
        )


async def _until_waiting(locker: Database, count: int) -> None:
    """Until ``count`` database calls are held by the lock (polled; the guard only ends a hang).
    Asked on the loop itself: a thread of the default executor may be what the calls hold."""
    async with asyncio.timeout(_HELD_GUARD_S):
        while _waiting_on_lock(locker) < count:
            await asyncio.sleep(0.05)


@pytest.mark.postgres
def test_other_thread_work_runs_while_database_calls_hang(pg_db: Database) -> None:
    keys = KeyStore(pg_db, cache_ttl_s=0.0)  # every lookup asks the database
    _, plaintext = keys.create_key("someone")
    locker = Database(pg_db.url)
    hold = locker.engine.connect()
    hold.exec_driver_sql("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")  # a hanging database
    default_threads = min(32, (os.cpu_count() or 1) + 4)
    hanging = default_threads + 2  # more than the default executor's threads
    # Enough held calls to fill the default executor had they run on it; as many as run at once.
    held_at_once = min(hanging, default_threads, deadline.DB_THREADS)

    async def scenario() -> tuple[bool, list[bool], list[object]]:
        calls = [
            asyncio.ensure_future(deadline.call_with_deadline(keys.verify, plaintext, timeout=30.0))
            for _ in range(hanging)
        ]
        try:
            await _until_waiting(locker, held_at_once)
            try:
                await asyncio.wait_for(asyncio.to_thread(lambda: None), _HELD_GUARD_S)
                answered = True
            except TimeoutError:
                answered = False
            still_held = [not c.done() for c in calls]  # the lock is still taken here
        finally:
            hold.rollback()
            hold.close()
        return answered, still_held, await asyncio.gather(*calls, return_exceptions=True)

    try:
        answered, still_held, outcomes = asyncio.run(scenario())
    finally:
        locker.dispose()
    # Before: the to_thread call was queued behind the hung calls on the default executor.
    assert answered, "a to_thread call was not run while database calls hung on a lock"
    assert all(still_held)  # it was answered while every database call was still held
    assert [o for o in outcomes if isinstance(o, BaseException)] == []  # each answered once the lock went


@pytest.mark.postgres
def test_hung_request_calls_leave_connections_for_the_background_writers(pg_db: Database) -> None:
    """Calls hung on one locked table must not take every pooled connection: the request log's
    writer, the job workers and the retention purge use the same pool for other tables."""
    keys = KeyStore(pg_db, cache_ttl_s=0.0)
    _, plaintext = keys.create_key("someone")
    locker = Database(pg_db.url)
    hold = locker.engine.connect()
    hold.exec_driver_sql("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")

    capacity = pg_db.engine.pool.size() + pg_db.engine.pool._max_overflow  # type: ignore[attr-defined]

    def background_write() -> None:
        with pg_db.session() as session, session.begin():
            session.execute(text("SELECT count(*) FROM requests"))

    async def scenario() -> tuple[bool, list[bool], list[object]]:
        calls = [
            asyncio.ensure_future(deadline.call_with_deadline(keys.verify, plaintext, timeout=30.0))
            for _ in range(20)
        ]
        try:
            await _until_waiting(locker, min(20, deadline.DB_THREADS, capacity))  # every database thread held
            try:
                await asyncio.wait_for(asyncio.to_thread(background_write), _HELD_GUARD_S)
                written = True
            except TimeoutError:
                written = False
            still_held = [not c.done() for c in calls]
        finally:
            hold.rollback()
            hold.close()
        return written, still_held, await asyncio.gather(*calls, return_exceptions=True)

    try:
        written, still_held, outcomes = asyncio.run(scenario())
    finally:
        locker.dispose()
    # Before: every pooled connection was held by a hung call; the write waited the pool's 30 s.
    assert written, "the background write got no connection while request calls hung on a lock"
    assert all(still_held)
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
