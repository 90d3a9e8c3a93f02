"""The Redis result cache, shared by every replica; falls back to a local LRU while Redis is down.

Entries live under ``<CAPSIGHT_REDIS_PREFIX>cache:<key>`` (``capsight:cache:...`` by default), so
deployments sharing one Redis database with different prefixes never read each other's results.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from capsight.settings_checks import DEFAULT_REDIS_PREFIX
from capsight.store.cache import LRUCache
from capsight.store.redis_support import RedisBreaker, RedisClients, is_outage

logger = logging.getLogger(__name__)

# After the deployment's prefix: what sets the cache's keys apart from the rate limiter's.
CACHE_KEYS = "cache:"


class RedisCache:
    """``get``/``set`` never raise for an unreachable Redis: they use ``fallback`` (or miss) instead.

    ``prefix`` is the whole start of each key; the service passes ``redis_prefix + CACHE_KEYS``."""

    def __init__(
        self,
        url: str,
        *,
        ttl_s: int = 86_400,
        prefix: str = DEFAULT_REDIS_PREFIX + CACHE_KEYS,
        fallback: LRUCache | None = None,
        breaker: RedisBreaker | None = None,
    ) -> None:
        self.ttl_s = ttl_s
        self.prefix = prefix
        self.fallback = fallback
        self.breaker = breaker or RedisBreaker("cache")
        self._clients = RedisClients(url)

    async def get(self, key: str) -> dict[str, Any] | None:
        if self.breaker.available():
            try:
                raw = await self._clients.get().get(self.prefix + key)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                self.breaker.failed(exc)
            else:
                self.breaker.succeeded()
                if raw is None:
                    return None
                value: dict[str, Any] = json.loads(raw)
                return value
        return await self.fallback.get(key) if self.fallback is not None else None

    async def set(self, key: str, value: dict[str, Any]) -> None:
        text = json.dumps(value, separators=(",", ":"))
        if self.breaker.available():
            try:
                await self._clients.get().set(
                    self.prefix + key, text, ex=self.ttl_s if self.ttl_s > 0 else None
                )
            except Exception as exc:
                if not is_outage(exc):
                    raise
                self.breaker.failed(exc)
            else:
                self.breaker.succeeded()
                return
        if self.fallback is not None:
            await self.fallback.set(key, value)

    async def aclose(self) -> None:
        await self._clients.aclose()

    def close(self) -> None:
        self._clients.close()
