"""One outage seen by many in-flight calls backs off once, not once per call.

The breaker's pause grows per failed *probe*. But every call already on its way to Redis when it
went away failed too, and each doubled the pause: a replica with 20 requests in flight when Redis
restarted waited the maximum 30 s before looking at Redis again, limiting per replica (and caching
locally) for half a minute after a restart that took a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from capsight.store.cache import LRUCache
from capsight.store.redis_cache import RedisCache
from capsight.store.redis_ratelimit import RedisRateLimiter
from capsight.store.redis_support import RedisBreaker
from servers import RedisServer, start_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with start_redis() as server:
        yield server


async def _back_within(limiter: RedisRateLimiter, cache: RedisCache, seconds: float) -> bool:
    """Whether both use Redis again within ``seconds`` (each call that falls back returns at once)."""
    deadline = time.monotonic() + seconds
    while True:
        token = (await limiter.hit("after", "1000/minute")).token
        await cache.get("after")
        if not token.startswith("local:") and not cache.breaker.down:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)


def test_calls_in_flight_when_redis_dies_back_off_once(own_redis: RedisServer) -> None:
    limiter = RedisRateLimiter(own_redis.url, breaker=RedisBreaker("rate limiter", 0.2, 30.0))
    cache = RedisCache(own_redis.url, fallback=LRUCache(10), breaker=RedisBreaker("cache", 0.2, 30.0))

    async def scenario() -> None:
        assert (await limiter.hit("warm", "100/minute")).allowed  # connections open
        assert await cache.get("warm") is None
        own_redis.kill()
        await asyncio.gather(*(limiter.hit(f"c{i}", "100/minute") for i in range(20)))
        await asyncio.gather(*(cache.get(f"k{i}") for i in range(20)))
        assert limiter.breaker.down and cache.breaker.down
        own_redis.start()
        assert await _back_within(limiter, cache, 3.0), "waited the maximum pause (30 s)"
        assert not limiter.breaker.down

    async def run() -> None:
        try:
            await scenario()
        finally:
            await limiter.aclose()
            await cache.aclose()

    asyncio.run(run())
