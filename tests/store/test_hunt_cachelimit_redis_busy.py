"""A Redis that answers but cannot serve is an outage: the cache and the limiter fall back.

``BUSY`` (another client's script has run past ``busy-reply-threshold``: every other command is
refused until it ends or is killed) and ``NOREPLICAS`` (``min-replicas-to-write`` not met: writes
refused) came back as plain ``ResponseError``s, which the breaker did not count. The limiter's
script raised on every request and the API let each one through with no limit at all (and a
traceback), instead of limiting per replica like during any other outage; the cache logged a
traceback per lookup and never used its in-process fallback.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from capsight.store.cache import LRUCache
from capsight.store.ratelimit import InProcessRateLimiter
from capsight.store.redis_cache import RedisCache
from capsight.store.redis_ratelimit import RedisRateLimiter
from capsight.store.redis_support import RedisBreaker
from servers import RedisServer, start_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with start_redis() as server:
        yield server


@pytest.fixture
def busy_redis(own_redis: RedisServer) -> Iterator[RedisServer]:
    """``own_redis`` running a script that never ends, until the test is over."""
    admin = redis.Redis.from_url(own_redis.url)
    admin.config_set("busy-reply-threshold", 50)
    spinner = threading.Thread(target=_spin, args=(own_redis.url,), daemon=True)
    spinner.start()
    deadline = time.monotonic() + 10
    while True:  # until Redis itself says it is busy
        try:
            admin.ping()
        except redis.ResponseError as exc:
            if str(exc).startswith("BUSY"):
                break
            raise
        assert time.monotonic() < deadline, "redis never became busy"
    try:
        yield own_redis
    finally:
        admin.script_kill()
        spinner.join(10)
        admin.close()


def _spin(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.eval("while true do end", 0)
    except redis.RedisError:
        pass  # killed by the fixture
    finally:
        client.close()


def test_busy_redis_limiter_limits_in_process(busy_redis: RedisServer) -> None:
    async def scenario() -> None:
        limiter = RedisRateLimiter(busy_redis.url, fallback=InProcessRateLimiter())
        try:
            decisions = [await limiter.hit("client", "2/minute") for _ in range(3)]
        finally:
            await limiter.aclose()
        assert [d.allowed for d in decisions] == [True, True, False]
        assert limiter.breaker.down

    asyncio.run(scenario())


def test_busy_redis_cache_uses_its_fallback(busy_redis: RedisServer) -> None:
    async def scenario() -> None:
        cache = RedisCache(busy_redis.url, fallback=LRUCache(10))
        try:
            await cache.set("k", {"label": "opened"})
            assert await cache.get("k") == {"label": "opened"}
        finally:
            await cache.aclose()
        assert cache.breaker.down

    asyncio.run(scenario())


def test_redis_refusing_writes_for_want_of_replicas_is_an_outage(own_redis: RedisServer) -> None:
    admin = redis.Redis.from_url(own_redis.url)
    admin.config_set("min-replicas-to-write", 1)

    async def scenario() -> None:
        limiter = RedisRateLimiter(own_redis.url, breaker=RedisBreaker("rate limiter", retry_s=60))
        try:
            decisions = [await limiter.hit("client", "1/minute") for _ in range(2)]
        finally:
            await limiter.aclose()
        assert [d.allowed for d in decisions] == [True, False]
        assert limiter.breaker.down

    try:
        asyncio.run(scenario())
    finally:
        admin.close()
