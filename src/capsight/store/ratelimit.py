"""Rate limits: parsing ``"100/minute"`` and the in-process sliding-window-log limiter.

A sliding *log* (one timestamp per accepted hit) is exact: no burst of 2x at a fixed-window boundary,
and the time until the next free slot is simply "oldest hit + window - now". The memory cost is one
float per accepted hit per client inside the window, which is small for API rate limits. Each log is
a plain sorted list: a client with one hit costs ~290 bytes, its address included, where a
``deque`` (a 64-slot block up front) made it ~960, ~1 GB per worker for a million addresses under a
``1/day`` limit. The Redis limiter (``redis_ratelimit``) implements the same algorithm on a sorted
set so replicas share it.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from capsight.store.protocols import RateLimitDecision

_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}
_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d+)?\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Rate:
    limit: int
    window_s: float

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_s:g}s"


@functools.lru_cache(maxsize=1024)
def parse_rate(text: str) -> Rate:
    """``"100/minute"``, ``"10/second"``, ``"1000/hour"``, ``"5 per 10 seconds"``, ``"20/m"``.

    Raises ValueError with the accepted forms, so a typo in settings or the CLI fails loudly at start.
    Cached: every limited request parses its key's rate (a handful of distinct strings), twice when
    the key's own rate is checked first.
    """
    match = _RATE.match(text.lower())
    unit = match.group(3) if match else ""
    if unit not in _UNITS and unit.endswith("s") and len(unit) > 2:
        # A plural of a unit's name ("minutes", "hrs"), never of a letter: "1000/ms" was read as
        # 1000 per minute ("m" and a plural "s"), a 60,000th of the rate its author meant.
        unit = unit[:-1]
    if not match or unit not in _UNITS:
        raise ValueError(
            f"invalid rate {text!r}: use N/second, N/minute, N/hour or N/day (e.g. '100/minute')"
        )
    limit = int(match.group(1))
    multiple = int(match.group(2) or 1)
    if limit < 1 or multiple < 1:
        raise ValueError(f"invalid rate {text!r}: count and period must be positive")
    return Rate(limit=limit, window_s=multiple * _UNITS[unit])


def decision(rate: Rate, allowed: bool, count: int, reset_after: float, token: str = "") -> RateLimitDecision:
    """Build the decision and its ``X-RateLimit-*`` headers (Reset in seconds, as the IETF draft)."""
    remaining = max(0, rate.limit - count)
    reset_after = max(0.0, reset_after)
    headers = {
        "X-RateLimit-Limit": str(rate.limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(math.ceil(reset_after)),
    }
    if not allowed:
        headers["Retry-After"] = str(max(1, math.ceil(reset_after)))
    return RateLimitDecision(
        allowed=allowed,
        limit=rate.limit,
        remaining=remaining,
        reset_after=reset_after,
        headers=headers,
        token=token,
    )


LOCAL_TOKEN_PREFIX = "local:"


class InProcessRateLimiter:
    """Exact sliding-window log per (key, rate), guarded by a lock (safe from threads and tasks).

    A recorded hit's token is its timestamp: hits with equal timestamps are interchangeable, so
    releasing any one of them takes back exactly one hit.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, sweep_every: int = 10_000) -> None:
        self._clock = clock
        self._logs: dict[tuple[str, int, float], list[float]] = {}
        self._lock = threading.Lock()
        self._sweep_every = sweep_every
        self._hits = 0

    async def hit(self, key: str, rate: str, *, record: bool = True) -> RateLimitDecision:
        return self.hit_sync(key, parse_rate(rate), record=record)

    def hit_sync(self, key: str, rate: Rate, *, record: bool = True) -> RateLimitDecision:
        now = self._clock()
        with self._lock:
            log = self._logs.setdefault((key, rate.limit, rate.window_s), [])
            del log[: bisect.bisect_right(log, now - rate.window_s)]  # the hits that left the window
            allowed = len(log) < rate.limit
            token = ""
            if allowed and record:
                bisect.insort(log, now)  # sorted even if another thread read an earlier clock
                token = f"{LOCAL_TOKEN_PREFIX}{now!r}"
            reset_after = log[0] + rate.window_s - now if log else 0.0
            count = len(log)
            self._hits += 1
            if self._hits % self._sweep_every == 0:
                self._sweep(now)
        return decision(rate, allowed, count, reset_after, token)

    async def release(self, key: str, rate: str, token: str) -> None:
        self.release_sync(key, parse_rate(rate), token)

    def release_sync(self, key: str, rate: Rate, token: str) -> None:
        if not token.startswith(LOCAL_TOKEN_PREFIX):
            return
        stamp = float(token.removeprefix(LOCAL_TOKEN_PREFIX))
        with self._lock:
            log = self._logs.get((key, rate.limit, rate.window_s))
            if log is not None and stamp in log:
                log.remove(stamp)  # keeps the log sorted; a pruned hit has nothing left to give back

    def _sweep(self, now: float) -> None:
        """Forget clients whose every hit has left the window, so memory follows active clients."""
        stale = [k for k, log in self._logs.items() if not log or log[-1] <= now - k[2]]
        for k in stale:
            del self._logs[k]

    def __len__(self) -> int:
        return len(self._logs)
