"""Log a recurring failure once a minute, not once per request.

The rate limiter fails open (a broken limiter must not take the service down), and a failure that is
not a Redis outage (those open the breaker and log once) repeats on every request until someone
fixes it: a traceback per request, hundreds a second, buried everything else in the log. The first
failure of a kind is logged with its traceback; repeats within the interval are only counted, and
the count rides on the next line of that kind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from capsight.log_gate import INTERVAL_S, LogGate


class FailureLog:
    """One per app. A kind is the message and the exception's type."""

    def __init__(self, interval_s: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._gate = LogGate(interval_s, clock)

    def exception(self, logger: logging.Logger, message: str, exc: BaseException) -> None:
        """``logger.exception(message)`` for ``exc``, unless one of its kind was logged lately."""
        held = self._gate.admit((message, f"{type(exc).__module__}.{type(exc).__qualname__}"))
        if held is None:
            return
        more = f" (and {held} more times since the last such line)" if held else ""
        logger.error("%s%s", message, more, exc_info=exc)
