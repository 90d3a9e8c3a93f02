"""At most one log line a minute for a failure that repeats on every request or batch.

Why one gate: three places logged such failures on every occurrence and each grew its own timer
(the rate limiter failing open, records the spool could not take, the request log's overflow
refusing records); a line per request or batch buried everything else in the log, hundreds a second.
The first occurrence of a kind is let through; repeats within the interval are held back and
counted, and the count goes with the next line of that kind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

#: How long repeats of one kind stay out of the log.
INTERVAL_S = 60.0


class LogGate:
    """Thread-safe; one per thing that logs. The table holds one entry per kind, and kinds are as
    few as the code's ``except`` clauses times the errors they meet."""

    def __init__(self, interval_s: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._next: dict[Hashable, float] = {}
        self._held: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def admit(self, kind: Hashable = None) -> int | None:
        """None: hold this occurrence back (it is counted). Otherwise log it now, with the number
        of occurrences of ``kind`` held back since the last one admitted."""
        now = self._clock()
        with self._lock:
            if now < self._next.get(kind, float("-inf")):
                self._held[kind] = self._held.get(kind, 0) + 1
                return None
            self._next[kind] = now + self._interval_s
            return self._held.pop(kind, 0)
