"""A database call answered within a request's deadline, its late writes rolled back.

Split from ``database.py``: the deadline is about how a request waits for the database, not about
the database handle; :meth:`Database.session <capsight.store.database.Database.session>` only reads
:data:`COMMIT_GUARD` to ask, before each commit, whether the call is still wanted.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

# How long a request waits for the database (a key lookup, a job's status) before it is answered 503.
DB_CALL_TIMEOUT_S = 5.0
T = TypeVar("T")


class DeadlinePassed(Exception):
    """A write reached its commit after the request that wanted it had been answered: rolled back."""


class _CommitGuard:
    """Decides once, under a lock, whether a call's writes commit or its caller gave up on them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._abandoned = False
        self._committing = False

    def before_commit(self, _session: Any) -> None:
        with self._lock:
            if self._abandoned:
                raise DeadlinePassed("the request was answered before this write committed")
            self._committing = True

    def abandon(self) -> bool:
        """True: no commit of this call will happen; False: one has begun, its answer is coming."""
        with self._lock:
            if not self._committing:
                self._abandoned = True
            return self._abandoned


COMMIT_GUARD: contextvars.ContextVar[_CommitGuard | None] = contextvars.ContextVar(
    "capsight_commit_guard", default=None
)


async def call_with_deadline(fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
    """``fn(*args)`` in a thread, raising TimeoutError after ``timeout`` (default DB_CALL_TIMEOUT_S).

    Why: a database that accepts connections but never answers (a frozen server, a half-open
    connection the TCP settings have not caught yet) would hold the request as long as the driver
    waits. The thread runs on until the driver gives up; the connection pool bounds how many can.

    A write the thread gets to commit after the deadline is rolled back (the sessions of
    :meth:`Database.session` ask first): the client was answered 503, "retry", and the write landed
    anyway. A SQLite file locked by another worker for longer than the deadline did that: a feedback
    row the client sent again was kept twice, and a zip job answered 503 (its upload deleted) was
    created all the same and failed. A commit that had begun when the deadline passed is awaited
    and answered instead.
    """
    seconds = DB_CALL_TIMEOUT_S if timeout is None else timeout
    guard = _CommitGuard()

    def guarded() -> T:
        COMMIT_GUARD.set(guard)  # this thread's copy of the caller's context only
        return fn(*args)

    task = asyncio.ensure_future(asyncio.to_thread(guarded))
    try:
        return await asyncio.wait_for(asyncio.shield(task), seconds)
    except TimeoutError:
        if guard.abandon():
            task.add_done_callback(_retrieve)  # the thread's own error, if any, is no news now
            raise
        return await task


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
