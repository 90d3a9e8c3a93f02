"""A Redis whose last RDB snapshot failed refuses writes (``MISCONF``): an outage, so the limiter falls back.

With ``stop-writes-on-bgsave-error yes`` (Redis's default) and save points configured, a snapshot that
cannot be written (data disk full, its folder gone) makes Redis answer every write, the limiter's
script included, with ``MISCONF ...``. redis-py raises that as a plain ``ResponseError``, which the
breaker did not count: the limiter raised on each request and the API let every one through with no
limit at all, logging a traceback per request, where the docs promise per-replica limits and one
warning for a Redis that refuses writes.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Iterator

import pytest
import redis

from capsight.store.ratelimit import InProcessRateLimiter
from capsight.store.redis_ratelimit import RedisRateLimiter
from capsight.store.redis_support import RedisBreaker
from servers import RedisServer, start_redis, wait_for

pytestmark = pytest.mark.redis


@pytest.fixture
def misconf_redis() -> Iterator[RedisServer]:
    """A Redis refusing writes because its last background save failed (its folder was removed)."""
    with start_redis() as server:
        admin = redis.Redis.from_url(server.url)
        try:
            admin.config_set("save", "3600 1")
            shutil.rmtree(server.root)  # the snapshot's temporary file cannot be created any more
            admin.bgsave()
            wait_for(lambda: admin.info("persistence")["rdb_last_bgsave_status"] == "err", 10, "bgsave")
            with pytest.raises(redis.ResponseError, match=r"^MISCONF "):
                admin.set("probe", "1")
            yield server
        finally:
            admin.config_set("save", "")  # else Redis refuses to stop: it cannot save on the way out
            admin.close()


def test_misconf_redis_limiter_limits_in_process_and_warns_once(
    misconf_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> list[bool]:
        limiter = RedisRateLimiter(
            misconf_redis.url,
            fallback=InProcessRateLimiter(),
            breaker=RedisBreaker("rate limiter", retry_s=60),
        )
        try:
            decisions = [await limiter.hit("client", "2/minute") for _ in range(4)]
        finally:
            await limiter.aclose()
        assert limiter.breaker.down
        return [d.allowed for d in decisions]

    with caplog.at_level(logging.WARNING, logger="capsight.store.redis_support"):
        allowed = asyncio.run(scenario())
    assert allowed == [True, True, False, False]
    warnings = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1 and "MISCONF" in warnings[0], warnings
