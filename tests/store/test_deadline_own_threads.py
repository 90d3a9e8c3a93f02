"""Database calls waiting on a hung database leave the event loop's other thread work alone.

Why: ``call_with_deadline`` ran each database call on asyncio's default executor, which has
``min(32, cores + 4)`` threads (6 on a 2-core pod) and is what every other ``asyncio.to_thread`` of
the server uses (a zip job's upload and inspection, a model reload's warm-up, shutdown). A database
that hung (a lock held, a frozen server) kept each call's thread until the driver gave up, so six
requests stalled all of that work too, and six calls at once were all a process could run even with
a healthy database and 15 pooled connections. Database calls have threads of their own: 10, so
that calls hung on one table leave 5 connections to the request log's writer, job workers and purge.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

import pytest
from sqlalchemy import text

from capsight.store import deadline
from capsight.store.database import Database
from capsight.store.keys import KeyStore


@pytest.mark.postgres
def test_other_thread_work_runs_while_database_calls_hang(pg_db: Database) -> None:
    keys = KeyStore(pg_db, cache_ttl_s=0.0)  # every lookup asks the database
    _, plaintext = keys.create_key("someone")
    locker = Database(pg_db.url)
    hold = locker.engine.connect()
    hold.exec_driver_sql("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")  # a hanging database
    hanging = min(32, (os.cpu_count() or 1) + 4) + 2  # more than the default executor's threads

    async def scenario() -> tuple[float, list[object]]:
        calls = [
            asyncio.ensure_future(deadline.call_with_deadline(keys.verify, plaintext, timeout=30.0))
            for _ in range(hanging)
        ]
        try:
            await asyncio.sleep(0.5)  # every call is waiting on the lock
            started = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.to_thread(lambda: None), 5)
            waited = time.monotonic() - started
        finally:
            hold.rollback()
            hold.close()
        return waited, await asyncio.gather(*calls, return_exceptions=True)

    try:
        waited, outcomes = asyncio.run(scenario())
    finally:
        locker.dispose()
    assert waited < 0.5, f"a to_thread call waited {waited:.1f} s behind hung database calls"
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

    def background_write() -> float:
        started = time.monotonic()
        with pg_db.session() as session, session.begin():
            session.execute(text("SELECT count(*) FROM requests"))
        return time.monotonic() - started

    async def scenario() -> tuple[float, list[object]]:
        calls = [
            asyncio.ensure_future(deadline.call_with_deadline(keys.verify, plaintext, timeout=30.0))
            for _ in range(20)
        ]
        try:
            await asyncio.sleep(0.5)  # every database thread is waiting on the lock
            try:
                waited = await asyncio.wait_for(asyncio.to_thread(background_write), 5)
            except TimeoutError:
                waited = float("inf")
        finally:
            hold.rollback()
            hold.close()
        return waited, await asyncio.gather(*calls, return_exceptions=True)

    try:
        waited, outcomes = asyncio.run(scenario())
    finally:
        locker.dispose()
    assert waited < 1.0, f"the background write waited {waited:.1f} s for a connection"
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
