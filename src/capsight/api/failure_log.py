"""Log a recurring failure once a minute, not once per request.

The rate limiter fails open (a broken limiter must not take the service down), and a failure that is
not a Redis outage (those open the breaker and log once) repeats on every request until someone
fixes it: a traceback per request, hundreds a second, buried everything else in the log. The first
failure of a kind is logged with its traceback; repeats within the interval are only counted, and
the count rides on the next line of that kind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

#: How long repeats of one kind of failure stay out of the log.
INTERVAL_S = 60.0


class FailureLog:
    """One per app: which kinds of failure were logged when, and how many repeats were held back.
    A kind is the message and the exception's type, so the table stays as small as the code's
    ``except`` clauses times the errors they meet."""

    def __init__(self, interval_s: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._next: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def exception(self, logger: logging.Logger, message: str, exc: BaseException) -> None:
        """``logger.exception(message)`` for ``exc``, unless one of its kind was logged lately."""
        kind = (message, f"{type(exc).__module__}.{type(exc).__qualname__}")
        now = self._clock()
        with self._lock:
            if now < self._next.get(kind, float("-inf")):
                self._held[kind] = self._held.get(kind, 0) + 1
                return
            held = self._held.pop(kind, 0)
            self._next[kind] = now + self._interval_s
        more = f" (and {held} more times since the last such line)" if held else ""
        logger.error("%s%s", message, more, exc_info=exc)
