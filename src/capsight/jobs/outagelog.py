"""How the job loops report a database that stays down: one traceback, then a line a minute.

Why: the job threads retry every few seconds, and each retry logged a full traceback (with
SQLAlchemy's chained exception, two of them): a database down for 20 s filled the log with 586 lines
from two loops, burying what else happened. The request log already reports the same outage in one
line. Now the first failure keeps its traceback (the cause is in it), the following ones are a line
a minute while it lasts, and its end is one line too.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable

from capsight.errors import first_line

REPEAT_EVERY_S = 60.0


class OutageLog:
    """Reports the failures of one retrying loop (call ``failed`` from an ``except`` block)."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        every_s: float = REPEAT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger, self.what, self.every_s, self._clock = logger, what, every_s, clock
        self._lock = threading.Lock()
        self._since: float | None = None  # when the current outage began
        self._last = 0.0
        self._failures = 0

    def failed(self) -> None:
        now = self._clock()
        with self._lock:
            self._failures += 1
            if self._since is None:
                self._since = self._last = now
                first = True
            elif now - self._last >= self.every_s:
                self._last = now
                first = False
            else:
                return
            failures = self._failures
        if first:
            self.logger.exception("%s: the database is unavailable; retrying", self.what)
        else:
            error = sys.exc_info()[1]
            self.logger.warning(
                "%s: the database is still unavailable after %.0f s (%d failures: %s); retrying",
                self.what,
                now - (self._since or now),
                failures,
                first_line(error) if error is not None else "unknown error",
            )

    def succeeded(self) -> None:
        with self._lock:
            since, self._since, self._failures = self._since, None, 0
        if since is not None:
            self.logger.warning(
                "%s: the database is reachable again after %.0f s", self.what, self._clock() - since
            )
