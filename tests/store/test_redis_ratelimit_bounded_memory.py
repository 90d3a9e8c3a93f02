"""The Redis limiter's memory per client is bounded whatever the limit, and replicas of both
versions never misread each other's keys.

The sliding log kept one sorted-set member per hit: under ``100000/day`` a client's key held
10,000 members after 10,000 hits (``MEMORY USAGE`` ~1.4 MB; ~13.6 MB at 100,000), with O(log n)
work and trimming on every request. Above ``EXACT_LOG_MAX`` the limiter keeps a hash of bucket
counts under its own key name (``rl:bk:...``); smaller limits keep the sorted set and its key.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from redis.asyncio import Redis

from capsight.store.ratelimit import BUCKETS_PER_WINDOW, EXACT_LOG_MAX
from capsight.store.redis_ratelimit import (
    BUCKET_COUNT_LUA,
    RECENT_HITS,
    SLIDING_LOG_LUA,
    RedisRateLimiter,
)
from servers import RedisServer

pytestmark = pytest.mark.redis


async def _keys(client: Redis, pattern: str) -> list[bytes]:
    return [key async for key in client.scan_iter(match=pattern)]


def test_a_busy_client_under_a_big_limit_keeps_a_bounded_number_of_entries(redis_server: RedisServer) -> None:
    async def scenario() -> tuple[list[bytes], bytes, int, int]:
        limiter = RedisRateLimiter(redis_server.url, prefix="t-rl-mem:")
        client = Redis.from_url(redis_server.url)
        try:
            for _ in range(10_000):
                assert (await limiter.hit("client", "100000/day")).allowed
            keys = await _keys(client, "t-rl-mem:*")
            kind = await client.type(keys[0])
            size = await (client.hlen(keys[0]) if kind == b"hash" else client.zcard(keys[0]))
            return keys, kind, size, await client.memory_usage(keys[0], samples=0)
        finally:
            await limiter.aclose()
            await client.aclose()

    keys, kind, size, memory = asyncio.run(scenario())
    assert len(keys) == 1
    assert size <= BUCKETS_PER_WINDOW + 1 + 2 * RECENT_HITS + 1, f"{kind!r} of {size} entries"  # was 10,000
    assert memory < 32_000, f"{memory} bytes"  # was ~1,400,000


def _script_run(url: str, script_text: str, calls: list[tuple[str, list[Any]]]) -> list[list[int]]:
    async def scenario() -> list[list[int]]:
        client = Redis.from_url(url)
        try:
            script = client.register_script(script_text)
            return [[int(v) for v in await script(keys=[key], args=args)] for key, args in calls]
        finally:
            await client.aclose()

    return asyncio.run(scenario())


def test_never_more_than_the_limit_at_the_bucket_boundary_and_retry_after_is_honest(
    redis_server: RedisServer,
) -> None:
    key, window_us = "t-rl-edge:c", 10_000_000
    width_us = math.ceil(window_us / BUCKETS_PER_WINDOW)  # 78,125 us: the first bucket is [0, 78125)

    def hit(now_us: int, member: str) -> tuple[str, list[Any]]:
        return key, [300, window_us, width_us, member, now_us]

    calls = [hit(50_000, f"m{i}") for i in range(300)]
    calls += [hit(10_050_000, "late"), hit(10_078_124, "late2"), hit(10_078_125, "now")]
    replies = _script_run(redis_server.url, BUCKET_COUNT_LUA, calls)
    assert all(r[0] == 1 for r in replies[:300]) and replies[299][1] == 300
    # the exact log would have let "late" in: its hits at 50,000 us are out of (50,000, 10,050,000]
    assert replies[300] == [0, 300, 78_125 + window_us - 10_050_000]
    assert replies[301] == [0, 300, 1]
    assert replies[302] == [1, 1, 78_125 * 130 + window_us - 10_078_125]  # bucket 129 is the oldest


def test_the_same_bucketed_hit_delivered_twice_counts_once(redis_server: RedisServer) -> None:
    key, args = "t-rl-retry:c", [300, 60_000_000, 468_750]
    replies = _script_run(
        redis_server.url,
        BUCKET_COUNT_LUA,
        [(key, [*args, "m1", 1_000_000]), (key, [*args, "m1", 1_000_001]), (key, [*args, "m2", 1_000_002])],
    )
    assert [r[:2] for r in replies] == [[1, 1], [1, 1], [1, 2]]


def test_a_bucketed_hit_can_be_given_back(redis_server: RedisServer) -> None:
    async def scenario() -> list[int]:
        limiter = RedisRateLimiter(redis_server.url, prefix="t-rl-give:")
        try:
            decisions = [await limiter.hit("c", "300/minute") for _ in range(300)]
            full = await limiter.hit("c", "300/minute", record=False)
            await limiter.release("c", "300/minute", decisions[-1].token)
            await limiter.release("c", "300/minute", decisions[-1].token)  # twice: gives back one
            after = await limiter.hit("c", "300/minute", record=False)
            return [full.remaining, after.remaining]
        finally:
            await limiter.aclose()

    assert asyncio.run(scenario()) == [0, 1]


def test_old_and_new_replicas_never_share_a_key_of_another_format(redis_server: RedisServer) -> None:
    """During a rolling upgrade an old replica runs the sliding-log script on ``rl:<limit>:...``."""

    async def scenario() -> tuple[list[bytes], list[int], list[bytes]]:
        limiter = RedisRateLimiter(redis_server.url, prefix="t-rl-old:")
        client = Redis.from_url(redis_server.url)
        try:
            await limiter.hit("c", "100000/day")
            await limiter.hit("c", f"{EXACT_LOG_MAX}/day")
            new_keys = sorted(await _keys(client, "t-rl-old:*"))
            old = client.register_script(SLIDING_LOG_LUA)  # what an old replica sends
            reply = await old(keys=["t-rl-old:100000:86400000000:c"], args=[100000, 86_400_000_000, "x"])
            return new_keys, [int(v) for v in reply], sorted(await _keys(client, "t-rl-old:*"))
        finally:
            await limiter.aclose()
            await client.aclose()

    new_keys, old_reply, all_keys = asyncio.run(scenario())
    assert new_keys == [
        f"t-rl-old:{EXACT_LOG_MAX}:86400000000:c".encode(),  # small limits: the same key and format
        b"t-rl-old:bk:100000:86400000000:c",
    ]
    assert old_reply[:2] == [1, 1]  # counted apart from the new replicas' key, and no WRONGTYPE
    assert len(all_keys) == 3
