"""The limiter's script, delivered twice for one hit, answers the same both times.

redis-py retries a command once when its reply times out (``RedisClients``: one immediate retry),
and a reply can time out after Redis ran the script, during a stall (a fork for a snapshot, a slow
disk under the AOF). The hit's member was already in the window the second time, so a client using
its last slot was refused, 429, with the slot taken all the same (and no token to give it back).
"""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from capsight.store.redis_ratelimit import SLIDING_LOG_LUA
from servers import RedisServer

pytestmark = pytest.mark.redis


def test_the_same_hit_delivered_twice_is_allowed_twice(redis_server: RedisServer) -> None:
    async def scenario() -> list[list[int]]:
        client = Redis.from_url(redis_server.url)
        try:
            script = client.register_script(SLIDING_LOG_LUA)
            key, args = "t-retry:1:60000000:c", [1, 60_000_000, "member-1"]
            first = await script(keys=[key], args=args)
            again = await script(keys=[key], args=args)  # what the retry sends
            other = await script(keys=[key], args=[1, 60_000_000, "member-2"])
            return [first, again, other]
        finally:
            await client.aclose()

    first, again, other = asyncio.run(scenario())
    assert first[:2] == [1, 1]
    assert again[:2] == [1, 1]  # was [0, 1]: refused, though the hit was its own
    assert other[:2] == [0, 1]  # a different hit is still refused
