"""A database call answered within a request's deadline, its late writes rolled back.

Split from ``database.py``: the deadline is about how a request waits for the database, not about
the database handle; :meth:`Database.session <capsight.store.database.Database.session>` only reads
:data:`COMMIT_GUARD` to ask, before each commit, whether the call is still wanted.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

# How long a request waits for the database (a key lookup, a job's status) before it is answered 503.
DB_CALL_TIMEOUT_S = 5.0
# How long it waits, besides, for the database's first use in this process (SQLAlchemy's import and
# the migration, by whichever thread came first): not counted in DB_CALL_TIMEOUT_S, so a first use
# slowed by a loaded host or by another worker holding the migration lock is waited for; one that never
# ends (a frozen server) is not. About a second at a server's start; 23 s on two cores kept busy.
DB_FIRST_USE_TIMEOUT_S = 60.0
# How often a call waiting on the first use looks whether that wait has ended (its own clock resumes).
_ASIDE_POLL_S = 0.05
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
    """Decides once, under a lock, whether a call's writes commit or its caller gave up on them; and
    whether a call whose caller is gone (answered 503, or cancelled) starts at all."""

    def __init__(self, seconds: float = DB_CALL_TIMEOUT_S) -> None:
        self._lock = threading.Lock()
        self._abandoned = False
        self._committing = False
        self._seconds = seconds
        self._started = time.monotonic()
        self._aside_s = 0.0  # time spent waiting on the first use, ended waits
        self._aside_since: float | None = None  # the wait going on, if any
        self._aside_depth = 0  # the migration imports SQLAlchemy: one wait inside the other

    @contextlib.contextmanager
    def set_aside(self) -> Iterator[None]:
        """Time in this block is the first use's, not the call's: see :func:`first_use_wait`."""
        with self._lock:
            self._aside_depth += 1
            if self._aside_depth == 1:
                self._aside_since = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._aside_depth -= 1
                if self._aside_depth == 0 and self._aside_since is not None:
                    self._aside_s += time.monotonic() - self._aside_since
                    self._aside_since = None

    def aside(self) -> tuple[float, bool]:
        """Seconds set aside so far, and whether such a wait is going on now."""
        with self._lock:
            ongoing = self._aside_since is not None
            now = time.monotonic() - self._aside_since if self._aside_since is not None else 0.0
            return self._aside_s + now, ongoing

    def own_time_left(self) -> float:
        """Seconds left of the call's own deadline (time set aside for the first use not counted)."""
        aside, _ = self.aside()
        return self._seconds - (time.monotonic() - self._started - aside)

    def connection_wait(self, configured: float) -> float:
        """How long this call may wait for a pooled connection: the pool's own timeout, but no
        longer than its caller waits for it, and not at all once the caller is gone. A call answered
        503 waited on for the pool's 30 s, holding one of the DB_THREADS that every request's call
        needs. The first use's wait (the migration) is not the call's: it keeps the pool's timeout."""
        with self._lock:
            if self._aside_since is not None:
                return configured
            if self._abandoned:
                return 0.0
        return max(0.0, min(configured, self.own_time_left()))

    def start(self) -> bool:
        """False when the caller went before a thread took the call: it is not run. A backlog of
        such calls (the requests of a database stall, all answered 503) ran after the stall for
        nobody, each with a thread and a connection, while the requests of the moment waited."""
        with self._lock:
            return not self._abandoned

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


def connection_wait(configured: float) -> float:
    """The pool's wait for a connection for the call this thread runs (see
    :meth:`_CommitGuard.connection_wait`); ``configured`` outside a call of :func:`call_with_deadline`
    (the request log's thread, job workers, the CLI)."""
    guard = COMMIT_GUARD.get()
    return configured if guard is None else guard.connection_wait(configured)


@contextlib.contextmanager
def first_use_wait() -> Iterator[None]:
    """Around a call's wait for the database's first use in this process (SQLAlchemy's import,
    :meth:`Database.ensure_ready <capsight.store.database.Database.ensure_ready>`): that time counts against
    DB_FIRST_USE_TIMEOUT_S, not against the call's own DB_CALL_TIMEOUT_S. Outside a call of
    :func:`call_with_deadline` (the request log's thread, the CLI) it changes nothing."""
    guard = COMMIT_GUARD.get()
    if guard is None:
        yield
        return
    with guard.set_aside():
        yield


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
    and answered instead; one that had begun when the caller was cancelled is awaited before the
    cancellation goes on, so that the caller's cleanup knows whether the write landed.

    Time waiting for the database's first use (:func:`first_use_wait`) is not counted: a migration
    slowed by a loaded host was answered 503 "database unavailable" with the database healthy.
    """
    seconds = DB_CALL_TIMEOUT_S if timeout is None else timeout
    guard = _CommitGuard(seconds)

    def guarded() -> T:
        COMMIT_GUARD.set(guard)  # this thread's copy of the caller's context only
        try:
            if not guard.start():
                raise DeadlinePassed("the request was answered before this call started")
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
    started = time.monotonic()
    try:
        while True:
            aside, ongoing = guard.aside()
            own = time.monotonic() - started - aside
            if own >= seconds or aside >= DB_FIRST_USE_TIMEOUT_S:
                break
            # While the first use is awaited only its limit nears; look again soon, as the call's own
            # clock runs again once it ends.
            wait = min(_ASIDE_POLL_S, DB_FIRST_USE_TIMEOUT_S - aside) if ongoing else seconds - own
            done, _ = await asyncio.wait({task}, timeout=wait)
            if done:
                return task.result()
        if not guard.abandon():  # its commit had begun when the deadline passed: it is answered
            return await asyncio.shield(task)
    except asyncio.CancelledError:
        # The caller is gone (the client hung up, the server shuts down): a call not started yet is
        # not run, a started one waits for a connection no longer than its deadline (none at all
        # for one it asks for from now on) and does not commit (unless its commit has begun), as
        # for a call past its deadline. A commit that has begun is waited for before the
        # cancellation goes on, so that the caller's cleanup sees what it did: raised at once, a zip
        # job's handler deleted the upload of a job whose row then landed (the job failed later,
        # "upload no longer on the server's disk", its request lost).
        if not guard.abandon():
            await _outlast_cancels(task)
        task.add_done_callback(_retrieve)
        raise
    task.add_done_callback(_retrieve)  # the thread's own error, if any, is no news now
    raise TimeoutError


async def _outlast_cancels(task: asyncio.Future[Any]) -> None:
    """Until ``task`` (a commit: milliseconds) has ended, however often its caller is cancelled."""
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({task})


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
