"""The Redis cache and rate limiter against a real redis-server, including a crash and restart."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator

import pytest

from capsight.store import redis_support
from capsight.store.cache import LRUCache
from capsight.store.ratelimit import InProcessRateLimiter
from capsight.store.redis_cache import RedisCache
from capsight.store.redis_ratelimit import RedisRateLimiter
from capsight.store.redis_support import RedisBreaker
from servers import RedisServer, start_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A private redis-server this test may kill without disturbing the session one."""
    with start_redis() as server:
        yield server


def test_cache_roundtrip_and_ttl(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        cache = RedisCache(redis_server.url, ttl_s=1, prefix="t-ttl:")
        try:
            await cache.set("v1:sha", {"label": "opened", "confidence": 0.75})
            assert await cache.get("v1:sha") == {"label": "opened", "confidence": 0.75}
            assert await cache.get("v1:other") is None
            await asyncio.sleep(1.3)
            assert await cache.get("v1:sha") is None  # expired by Redis itself
        finally:
            await cache.aclose()

    asyncio.run(scenario())


def test_two_replicas_share_the_cache(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a = RedisCache(redis_server.url, prefix="t-share:")
        b = RedisCache(redis_server.url, prefix="t-share:")
        try:
            await a.set("k", {"label": "closed"})
            assert await b.get("k") == {"label": "closed"}
        finally:
            await a.aclose()
            await b.aclose()

    asyncio.run(scenario())


def test_cache_survives_redis_crash_and_reconnects(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    breaker = RedisBreaker("cache", retry_s=0.2, max_retry_s=0.2)
    cache = RedisCache(own_redis.url, prefix="t-crash:", fallback=LRUCache(10), breaker=breaker)

    async def scenario() -> None:
        await cache.set("before", {"n": 1})
        assert await cache.get("before") == {"n": 1}

        own_redis.kill()
        with caplog.at_level(logging.WARNING, logger="capsight.store.redis_support"):
            for i in range(5):  # neither raises; the fallback LRU answers meanwhile
                await cache.set(f"during-{i}", {"n": i})
                assert await cache.get(f"during-{i}") == {"n": i}
            assert await cache.get("before") is None  # only in Redis, which is down: a miss
        warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(warnings) == 1, "one warning per outage, not one per call"
        assert breaker.down

        own_redis.start()  # same port, empty (no persistence)
        await asyncio.sleep(0.3)  # past the breaker's retry pause
        await cache.set("after", {"n": 2})
        assert not breaker.down
        assert await cache.get("after") == {"n": 2}
        other_replica = RedisCache(own_redis.url, prefix="t-crash:")
        assert await other_replica.get("after") == {"n": 2}
        await other_replica.aclose()

    async def run() -> None:
        try:
            await scenario()
        finally:
            await cache.aclose()

    asyncio.run(run())
    assert breaker.outages == 1


def test_cache_without_fallback_misses_while_down() -> None:
    from servers import free_port

    async def scenario() -> None:
        cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0")
        await cache.set("k", {"n": 1})
        assert await cache.get("k") is None
        await cache.aclose()

    asyncio.run(scenario())


def test_rate_limit_window_is_shared_by_replicas(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a = RedisRateLimiter(redis_server.url, prefix="t-rl-share:")
        b = RedisRateLimiter(redis_server.url, prefix="t-rl-share:")
        try:
            decisions = [await a.hit("client", "3/second"), await b.hit("client", "3/second")]
            decisions += [await a.hit("client", "3/second"), await b.hit("client", "3/second")]
            assert [d.allowed for d in decisions] == [True, True, True, False]
            assert [d.remaining for d in decisions] == [2, 1, 0, 0]
            denied = decisions[-1]
            assert 0 < denied.reset_after <= 1.0
            assert denied.headers["X-RateLimit-Limit"] == "3"
            assert denied.headers["Retry-After"] == "1"
            assert (await a.hit("other-client", "3/second")).allowed
            await asyncio.sleep(denied.reset_after + 0.05)
            assert (await b.hit("client", "3/second")).allowed  # the oldest hit left the window
        finally:
            await a.aclose()
            await b.aclose()

    asyncio.run(scenario())


def test_asking_redis_without_recording_counts_nothing(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a = RedisRateLimiter(redis_server.url, prefix="t-rl-peek:")
        b = RedisRateLimiter(redis_server.url, prefix="t-rl-peek:")
        try:
            assert all([(await a.hit("ip", "2/minute", record=False)).allowed for _ in range(5)])
            assert (await a.hit("ip", "2/minute")).allowed
            assert (await b.hit("ip", "2/minute", record=False)).allowed  # one left, seen by both
            assert (await b.hit("ip", "2/minute")).allowed
            refused = await a.hit("ip", "2/minute", record=False)
            assert not refused.allowed and 59 < refused.reset_after <= 60
            assert (await b.hit("ip", "2/minute")).remaining == 0
            assert (await a.hit("other-ip", "2/minute", record=False)).allowed
        finally:
            await a.aclose()
            await b.aclose()

    asyncio.run(scenario())


def test_rate_limiter_falls_back_in_process_while_redis_is_down(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    fallback = InProcessRateLimiter()
    limiter = RedisRateLimiter(
        own_redis.url, prefix="t-rl-down:", fallback=fallback, breaker=RedisBreaker("rl", 0.2, 0.2)
    )

    async def scenario() -> None:
        assert (await limiter.hit("c", "2/minute")).allowed
        own_redis.kill()
        with caplog.at_level(logging.WARNING, logger="capsight.store.redis_support"):
            during = [(await limiter.hit("c", "2/minute")).allowed for _ in range(3)]
        assert during == [True, True, False]  # the in-process window, counted from zero
        assert len(fallback) == 1
        assert sum("unavailable" in r.getMessage() for r in caplog.records) == 1
        own_redis.start()
        await asyncio.sleep(0.3)
        after = [(await limiter.hit("c", "2/minute")).allowed for _ in range(3)]
        assert after == [True, True, False]  # Redis again: fresh (restarted empty) shared window

    async def run() -> None:
        try:
            await scenario()
        finally:
            await limiter.aclose()

    asyncio.run(run())


def test_clients_follow_the_event_loop_and_close_without_leaks(redis_server: RedisServer) -> None:
    """The app has one loop, but tests and CLI helpers run several: each gets its own connection,
    and the one left on a finished loop is closed (a leak would fail this test: warnings are errors)."""
    cache = RedisCache(redis_server.url, prefix="t-loops:")
    limiter = RedisRateLimiter(redis_server.url, prefix="t-loops:")

    async def put() -> None:
        await cache.set("k", {"n": 1})
        await limiter.hit("k", "5/minute")

    async def get() -> tuple[dict[str, object] | None, int]:
        return await cache.get("k"), (await limiter.hit("k", "5/minute")).remaining

    asyncio.run(put())
    assert asyncio.run(get()) == ({"n": 1}, 3)
    cache.close()  # from sync code, after the loop is gone
    limiter.close()
    gc.collect()


def test_sync_close_from_a_worker_thread_closes_on_the_running_loop(redis_server: RedisServer) -> None:
    """What the API does at shutdown: ``await asyncio.to_thread(services.close)``."""
    cache = RedisCache(redis_server.url, prefix="t-thread:")

    async def scenario() -> None:
        await cache.set("k", {"n": 1})
        await asyncio.to_thread(cache.close)

    asyncio.run(scenario())
    gc.collect()


class _Clock:
    """``time`` as RedisBreaker reads it, moved by the test: real sleeps of 0.12 s against a 0.2 s
    pause failed once in CI when a loaded machine overslept the gap."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_breaker_backs_off_between_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(redis_support, "time", clock)
    breaker = RedisBreaker("x", retry_s=0.1, max_retry_s=0.4)
    assert breaker.available()
    breaker.failed(ConnectionError("down"))
    assert not breaker.available()
    clock.now += 0.12
    assert breaker.available()  # time for one probe
    assert not breaker.available()  # one probe per pause
    breaker.failed(ConnectionError("still down"))  # backoff doubles to 0.2
    clock.now += 0.12
    assert not breaker.available()
    clock.now += 0.09
    assert breaker.available()
    breaker.failed(ConnectionError("still down"))  # 0.4, the most
    clock.now += 0.39
    assert not breaker.available()
    clock.now += 0.02
    assert breaker.available()
    breaker.failed(ConnectionError("still down"))  # stays 0.4
    clock.now += 0.39
    assert not breaker.available()
    clock.now += 0.02
    assert breaker.available()
    breaker.succeeded()
    assert breaker.available() and not breaker.down


@pytest.mark.parametrize("refusal", ["maxmemory", "read-only replica"])
def test_redis_refusing_writes_is_an_outage_not_a_limiter_failure(
    own_redis: RedisServer, refusal: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis at ``maxmemory`` (policy noeviction) answers OOM to every write; one left read-only
    after a failover answers READONLY. Both are reachable, yet the script raised ResponseError, which
    the API treats as a broken limiter and fails open: no limit at all, a traceback per request.
    Like an unreachable Redis, they must fall back to the in-process limit and cache, warning once."""
    import redis

    from servers import free_port

    admin = redis.Redis.from_url(own_redis.url)
    limiter = RedisRateLimiter(own_redis.url, prefix="t-rl-oom:", breaker=RedisBreaker("rl", 60, 60))
    cache = RedisCache(
        own_redis.url, prefix="t-c-oom:", fallback=LRUCache(10), breaker=RedisBreaker("c", 60, 60)
    )

    async def scenario() -> None:
        if refusal == "maxmemory":
            admin.config_set("maxmemory-policy", "noeviction")
            admin.config_set("maxmemory", 1)
        else:
            admin.replicaof("127.0.0.1", free_port())  # a primary that never answers: stays read-only
        with caplog.at_level(logging.WARNING, logger="capsight.store.redis_support"):
            decisions = [(await limiter.hit("c", "2/minute")).allowed for _ in range(4)]
            await cache.set("v1:sha", {"label": "opened"})
            assert await cache.get("v1:sha") == {"label": "opened"}  # from the in-process fallback
        assert decisions == [True, True, False, False]
        warnings = [r.getMessage().split()[1] for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(warnings) == len(set(warnings))  # once per breaker, not once per call
        # Redis 7 still runs the limiter's script at maxmemory; a read-only replica refuses it.
        assert set(warnings) == ({"c"} if refusal == "maxmemory" else {"rl", "c"})

    async def run() -> None:
        try:
            await scenario()
        finally:
            await limiter.aclose()
            await cache.aclose()
            admin.close()

    asyncio.run(run())
