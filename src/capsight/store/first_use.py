"""One attempt at a database's first-use work (its migration) at a time, shared by every thread.

Why: a server migrates on its first database use, and each request thread that arrived before the
migration ended ran one of its own, holding a pooled connection while it waited on the PostgreSQL
migration lock: a burst at start opened up to the pool's 15 connections per process, and replicas
starting together ran PostgreSQL out of connections ("sorry, too many clients already"). Threads
arriving during an attempt wait for its outcome with no connection and raise its error if it fails
(all at once, not one connect timeout after another); the next call after a failure tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future


class SharedAttempt:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: Future[None] | None = None

    def run(self, work: Callable[[], None]) -> None:
        """``work()`` here, or the outcome of the call of it already running on another thread."""
        with self._lock:
            attempt = self._running
            if attempt is None:
                mine = self._running = Future()
        if attempt is not None:
            attempt.result()
            return
        try:
            work()
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        else:
            mine.set_result(None)
        finally:
            with self._lock:
                self._running = None
