"""A database call answered within a request's deadline, its late writes rolled back.

Split from ``database.py``: the deadline is about how a request waits for the database, not about
the database handle; :meth:`Database.session <capsight.store.database.Database.session>` only reads
:data:`COMMIT_GUARD` to ask, before each commit, whether the call is still wanted.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

# How long a request waits for the database (a key lookup, a job's status) before it is answered 503.
DB_CALL_TIMEOUT_S = 5.0
# Threads of the requests' database calls: 10 of the 15 connections a process's pool holds
# (database.py: 5 + 10), the rest left to the request log's writer, the job workers and the purge,
# which a request table locked or a hung query would otherwise leave waiting 30 s for one.
DB_THREADS = 10
T = TypeVar("T")
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _db_threads() -> ThreadPoolExecutor:
    """The database calls' own threads, not asyncio's default executor: that one has cores + 4
    threads (6 on a 2-core pod) and runs every other ``to_thread`` of the server (a zip job's
    upload, a model's warm-up), so calls hung on the database stalled all of it, and six at once
    were all a process ran. Made on first use, so a process forks before it has any."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(DB_THREADS, thread_name_prefix="capsight-db")
        return _executor


_in_flight = 0  # database calls handed to those threads and not yet returned
_idle = threading.Condition()


def _count(change: int) -> None:
    global _in_flight
    with _idle:
        _in_flight += change
        _idle.notify_all()


def wait_for_calls(timeout: float) -> bool:
    """Wait for the database calls still running (their requests answered, perhaps) to return;
    False if some still run after ``timeout``. Before the engine is disposed: asyncio's default
    executor was joined when the loop closed, these threads are not."""
    with _idle:
        return _idle.wait_for(lambda: _in_flight == 0, timeout)


def _forget_threads() -> None:
    """A forked child has none of its parent's threads: it makes its own on first use."""
    global _executor, _executor_lock, _in_flight, _idle
    _executor, _executor_lock, _in_flight, _idle = None, threading.Lock(), 0, threading.Condition()


os.register_at_fork(after_in_child=_forget_threads)


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
    """``fn(*args)`` on a database thread, raising TimeoutError after ``timeout`` (default
    DB_CALL_TIMEOUT_S).

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
        try:
            return fn(*args)
        finally:
            _count(-1)

    context = contextvars.copy_context()  # what asyncio.to_thread hands its thread
    _count(+1)
    try:
        future = asyncio.get_running_loop().run_in_executor(_db_threads(), context.run, guarded)
    except BaseException:
        _count(-1)
        raise
    task = asyncio.ensure_future(future)
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
