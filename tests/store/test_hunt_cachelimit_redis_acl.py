"""A Redis user not allowed to run the limiter's commands still leaves the limit on.

A managed Redis often hands out ACL users with a restricted command set, and scripts are a common
omission. The limiter's ``EVALSHA`` was refused with ``NOPERM``, a plain ``ResponseError`` to the
breaker: the API let every request through with no limit at all and logged a traceback for each,
where any other unusable Redis (down, full, read-only) falls back to the per-replica limit with
one warning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
import redis

from capsight.store.ratelimit import InProcessRateLimiter
from capsight.store.redis_ratelimit import RedisRateLimiter
from capsight.store.redis_support import RedisBreaker
from servers import RedisServer, start_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with start_redis() as server:
        yield server


def test_a_user_without_script_rights_limits_in_process(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    admin = redis.Redis.from_url(own_redis.url)
    try:
        admin.acl_setuser(
            "cacheonly", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@read", "+set"]
        )
    finally:
        admin.close()
    url = f"redis://cacheonly:pw@127.0.0.1:{own_redis.port}/0"
    limiter = RedisRateLimiter(url, fallback=InProcessRateLimiter(), breaker=RedisBreaker("rate limiter", 60))

    async def scenario() -> list[bool]:
        try:
            return [(await limiter.hit("client", "2/minute")).allowed for _ in range(3)]
        finally:
            await limiter.aclose()

    with caplog.at_level(logging.WARNING, logger="capsight.store.redis_support"):
        allowed = asyncio.run(scenario())
    assert allowed == [True, True, False]
    assert limiter.breaker.down
    assert [r.getMessage() for r in caplog.records if "no permissions" in r.getMessage()], caplog.text
