"""While Redis hangs, one call per pause probes it; the others fall back at once.

The breaker promises "after a short (growing) pause one call is let through to probe", but let
every call through once the pause was over, until one of them failed. Against a Redis that hangs
(stopped, or a network black hole) each of those waited out the socket timeouts, so every pause
ended with a second or more added to every request that arrived meanwhile, cache and limiter each.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Iterator

import pytest

from capsight.store.cache import LRUCache
from capsight.store.redis_cache import RedisCache
from capsight.store.redis_ratelimit import RedisRateLimiter
from capsight.store.redis_support import RedisBreaker
from servers import RedisServer, start_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def hung_redis() -> Iterator[RedisServer]:
    """A redis-server that is stopped (SIGSTOP): connections open, nothing is ever answered."""
    with start_redis() as server:
        assert server.proc is not None
        pid = server.proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            yield server
        finally:
            os.kill(pid, signal.SIGCONT)


async def _timed(call: Awaitable[object]) -> float:
    started = time.perf_counter()
    await call
    return time.perf_counter() - started


def test_one_probe_per_pause_against_a_hung_redis(hung_redis: RedisServer) -> None:
    limiter = RedisRateLimiter(hung_redis.url, breaker=RedisBreaker("rate limiter", 0.2, 30.0))
    cache = RedisCache(hung_redis.url, fallback=LRUCache(10), breaker=RedisBreaker("cache", 0.2, 30.0))

    async def scenario() -> None:
        await limiter.hit("first", "100/minute")  # times out: the breaker opens
        await cache.get("first")
        assert limiter.breaker.down and cache.breaker.down
        await asyncio.sleep(0.3)  # the 0.2 s pauses run out (asking available() would take the probe)
        hits = await asyncio.gather(*(_timed(limiter.hit(f"c{i}", "100/minute")) for i in range(20)))
        gets = await asyncio.gather(*(_timed(cache.get(f"k{i}")) for i in range(20)))
        # The probe waits out the timeouts; everyone else is answered in-process meanwhile.
        assert sum(t > 0.4 for t in hits) == 1, sorted(hits)
        assert sum(t > 0.4 for t in gets) == 1, sorted(gets)

    async def run() -> None:
        try:
            await scenario()
        finally:
            await limiter.aclose()
            await cache.aclose()

    asyncio.run(run())
