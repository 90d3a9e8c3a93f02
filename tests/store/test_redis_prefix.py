"""CAPSIGHT_REDIS_PREFIX against a real redis-server: two deployments on one Redis database with
different prefixes share neither cached results nor rate-limit windows, and the default prefix
keeps the key names of the releases before it (an upgrade finds its cache and its windows)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from capsight.settings import Settings
from capsight.store.services import Services, build_services
from servers import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain client that reads the keys as Redis holds them."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


def _services(tmp_path: Path, url: str, **settings: str) -> Services:
    return build_services(Settings(data_dir=tmp_path, redis_url=url, request_log=False, **settings))


def test_the_default_prefix_keeps_the_old_key_names(
    tmp_path: Path, redis_server: RedisServer, raw: redis.Redis
) -> None:
    entry, client = f"m:1:{uuid.uuid4().hex}", f"client-{uuid.uuid4().hex}"
    services = _services(tmp_path, redis_server.url)

    async def scenario() -> None:
        try:
            assert services.cache is not None
            await services.cache.set(entry, {"label": "opened"})
            assert (await services.rate_limiter.hit(client, "3/minute")).allowed
        finally:
            await services.aclose()

    asyncio.run(scenario())
    assert json.loads(raw.get(f"capsight:cache:{entry}") or "null") == {"label": "opened"}
    assert raw.zcard(f"capsight:rl:3:60000000:{client}") == 1


def test_two_prefixes_on_one_database_never_see_each_others_keys(
    tmp_path: Path, redis_server: RedisServer, raw: redis.Redis
) -> None:
    run = uuid.uuid4().hex[:8]
    staging_prefix, production_prefix = f"staging-{run}:", f"production-{run}:"
    staging = _services(tmp_path / "staging", redis_server.url, redis_prefix=staging_prefix)
    production = _services(tmp_path / "production", redis_server.url, redis_prefix=production_prefix)
    entry, client = f"model:1:fingerprint:{run}", f"203.0.113.7-{run}"

    async def scenario() -> None:
        try:
            assert staging.cache is not None and production.cache is not None
            await staging.cache.set(entry, {"label": "staging's answer"})
            assert await production.cache.get(entry) is None  # not served the other deployment's result
            await production.cache.set(entry, {"label": "production's answer"})
            assert await staging.cache.get(entry) == {"label": "staging's answer"}
            assert await production.cache.get(entry) == {"label": "production's answer"}

            # The same client address, the same rate: counted apart.
            assert (await staging.rate_limiter.hit(client, "1/minute")).allowed
            assert not (await staging.rate_limiter.hit(client, "1/minute")).allowed
            first = await production.rate_limiter.hit(client, "1/minute")
            assert first.allowed and first.remaining == 0
            # Giving a hit back releases it in its own deployment's window only.
            await production.rate_limiter.release(client, "1/minute", first.token)
            assert not (await staging.rate_limiter.hit(client, "1/minute")).allowed
            assert (await production.rate_limiter.hit(client, "1/minute")).allowed
        finally:
            await staging.aclose()
            await production.aclose()

    asyncio.run(scenario())
    assert sorted(raw.scan_iter(match=f"staging-{run}:*")) == [
        f"staging-{run}:cache:{entry}",
        f"staging-{run}:rl:1:60000000:{client}",
    ]
    assert sorted(raw.scan_iter(match=f"production-{run}:*")) == [
        f"production-{run}:cache:{entry}",
        f"production-{run}:rl:1:60000000:{client}",
    ]
    assert not raw.exists(f"capsight:cache:{entry}", f"capsight:rl:1:60000000:{client}")
