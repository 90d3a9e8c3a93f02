"""Rate limits: parsing ``"100/minute"`` and the in-process sliding-window limiter.

Up to ``EXACT_LOG_MAX`` hits per window the limiter keeps a sliding *log* (one timestamp per
accepted hit): exact, no burst of 2x at a fixed-window boundary, and the time until the next free
slot is simply "oldest hit + window - now". Each log is a plain sorted list: a client with one hit
costs ~290 bytes, its address included, where a ``deque`` (a 64-slot block up front) made it ~960,
~1 GB per worker for a million addresses under a ``1/day`` limit.

A log's memory grows with the limit, though: under ``100000/day`` a busy client held 100,000 floats
(~3.2 MB per client per worker). Above ``EXACT_LOG_MAX`` the limiter counts hits in
``BUCKETS_PER_WINDOW`` buckets per window instead (``window / 128`` each, a dict of bucket -> count,
at most 129 entries whatever the limit). A bucket counts as inside the window until its whole span
has left it, so a hit is counted for at least a full window: never more than the limit in any
window, and a refused client waits at most one bucket (1/128 of the window) longer than with the
exact log. The reset time (``Retry-After``, ``X-RateLimit-Reset``) is when the oldest counted bucket
leaves. The Redis limiter (``redis_ratelimit``) implements both on Redis so replicas share them.
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
# Up to this many hits per window a client's hits are a log of timestamps (exact); above, bucket counts.
EXACT_LOG_MAX = 256
# Buckets per window above EXACT_LOG_MAX: the memory per client, and 1/this of the window is the
# longest a client may wait beyond the exact log's answer.
BUCKETS_PER_WINDOW = 128


def bucketed(rate: Rate) -> bool:
    """Whether ``rate`` is counted in buckets (bounded memory) rather than a log of every hit."""
    return rate.limit > EXACT_LOG_MAX


class InProcessRateLimiter:
    """A sliding window per (key, rate), guarded by a lock (safe from threads and tasks).

    Small limits keep the exact log: a recorded hit's token is its timestamp (hits with equal
    timestamps are interchangeable, so releasing any one of them takes back exactly one hit). Big
    limits count hits per bucket: the token names the bucket (``local:#<index>``).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, sweep_every: int = 10_000) -> None:
        self._clock = clock
        self._logs: dict[tuple[str, int, float], list[float]] = {}
        # Bucket index -> hits, in increasing index order (a new bucket is never below the last).
        self._buckets: dict[tuple[str, int, float], dict[int, int]] = {}
        self._lock = threading.Lock()
        self._sweep_every = sweep_every
        self._hits = 0

    async def hit(self, key: str, rate: str, *, record: bool = True) -> RateLimitDecision:
        return self.hit_sync(key, parse_rate(rate), record=record)

    def hit_sync(self, key: str, rate: Rate, *, record: bool = True) -> RateLimitDecision:
        now = self._clock()
        with self._lock:
            if bucketed(rate):
                allowed, count, reset_after, token = self._hit_buckets(key, rate, now, record)
            else:
                allowed, count, reset_after, token = self._hit_log(key, rate, now, record)
            self._hits += 1
            if self._hits % self._sweep_every == 0:
                self._sweep(now)
        return decision(rate, allowed, count, reset_after, token)

    def _hit_log(self, key: str, rate: Rate, now: float, record: bool) -> tuple[bool, int, float, str]:
        log = self._logs.setdefault((key, rate.limit, rate.window_s), [])
        del log[: bisect.bisect_right(log, now - rate.window_s)]  # the hits that left the window
        allowed = len(log) < rate.limit
        token = ""
        if allowed and record:
            bisect.insort(log, now)  # sorted even if another thread read an earlier clock
            token = f"{LOCAL_TOKEN_PREFIX}{now!r}"
        reset_after = log[0] + rate.window_s - now if log else 0.0
        return allowed, len(log), reset_after, token

    def _hit_buckets(self, key: str, rate: Rate, now: float, record: bool) -> tuple[bool, int, float, str]:
        buckets = self._buckets.setdefault((key, rate.limit, rate.window_s), {})
        width = rate.window_s / BUCKETS_PER_WINDOW
        while buckets:  # bucket b spans [b * width, (b + 1) * width): gone once all of it has left
            oldest = next(iter(buckets))
            if (oldest + 1) * width + rate.window_s > now:
                break
            del buckets[oldest]
        count = sum(buckets.values())
        allowed = count < rate.limit
        token = ""
        if allowed and record:
            index = math.floor(now / width)
            if buckets:
                # Another thread read an earlier clock: count it in the newest bucket, which leaves
                # later (never early), and the dict stays in index order.
                index = max(index, next(reversed(buckets)))
            buckets[index] = buckets.get(index, 0) + 1
            count += 1
            token = f"{LOCAL_TOKEN_PREFIX}#{index}"
        reset_after = (next(iter(buckets)) + 1) * width + rate.window_s - now if buckets else 0.0
        return allowed, count, reset_after, token

    async def release(self, key: str, rate: str, token: str) -> None:
        self.release_sync(key, parse_rate(rate), token)

    def release_sync(self, key: str, rate: Rate, token: str) -> None:
        if not token.startswith(LOCAL_TOKEN_PREFIX):
            return
        stamp = token.removeprefix(LOCAL_TOKEN_PREFIX)
        with self._lock:
            if stamp.startswith("#"):
                buckets = self._buckets.get((key, rate.limit, rate.window_s))
                index = int(stamp[1:])
                if buckets is not None and index in buckets:  # a bucket that left has nothing to give
                    buckets[index] -= 1
                    if not buckets[index]:
                        del buckets[index]
                return
            log = self._logs.get((key, rate.limit, rate.window_s))
            if log is not None and float(stamp) in log:
                log.remove(float(stamp))  # keeps the log sorted; a pruned hit has nothing left to give back

    def entries(self, key: str, rate: Rate) -> int:
        """Timestamps in ``key``'s log under ``rate``, or its buckets (for tests and diagnostics)."""
        with self._lock:
            return len(self._logs.get((key, rate.limit, rate.window_s), ())) + len(
                self._buckets.get((key, rate.limit, rate.window_s), ())
            )

    def _sweep(self, now: float) -> None:
        """Forget clients whose every hit has left the window, so memory follows active clients."""
        stale = [k for k, log in self._logs.items() if not log or log[-1] <= now - k[2]]
        for k in stale:
            del self._logs[k]
        gone = [
            k
            for k, buckets in self._buckets.items()
            if not buckets or (next(reversed(buckets)) + 1) * (k[2] / BUCKETS_PER_WINDOW) + k[2] <= now
        ]
        for k in gone:
            del self._buckets[k]

    def __len__(self) -> int:
        return len(self._logs) + len(self._buckets)
