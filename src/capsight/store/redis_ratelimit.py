"""The Redis rate limiter: the in-process sliding-window log, as one atomic Lua script on a sorted set.

The script reads Redis's own clock (``TIME``), so replicas with skewed clocks still share one window,
and it does prune + count + add + expire in one round trip. It is idempotent per hit: the client
retries once when a reply times out, and a hit whose member is already in the window is answered as
allowed again (it was refused, at the client's last slot, though the slot was its own). While Redis
is down the limiter falls back to the in-process limiter, i.e. limits per replica instead of
globally (logged once).

A window lives under ``<CAPSIGHT_REDIS_PREFIX>rl:<limit>:<window in microseconds>:<client>`` (the
script's only key, passed as ``KEYS[1]``), so deployments sharing one Redis database with different
prefixes count their clients apart.
"""

from __future__ import annotations

import uuid
from typing import Any

from capsight.settings_checks import DEFAULT_REDIS_PREFIX
from capsight.store.protocols import RateLimitDecision
from capsight.store.ratelimit import LOCAL_TOKEN_PREFIX, InProcessRateLimiter, Rate, decision, parse_rate
from capsight.store.redis_support import RedisBreaker, RedisClients, is_outage

# After the deployment's prefix: what sets the limiter's keys apart from the cache's.
RATE_LIMIT_KEYS = "rl:"

SLIDING_LOG_LUA = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window_us = tonumber(ARGV[2])
local member = ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_us)
local count = redis.call('ZCARD', key)
local allowed = 0
if member ~= '' and redis.call('ZSCORE', key, member) then
  allowed = 1  -- this very hit, sent again (a retry after a timed-out reply): already counted
elseif count < limit then
  allowed = 1
  if member ~= '' then
    redis.call('ZADD', key, now, member)
    count = count + 1
  end
end
redis.call('PEXPIRE', key, math.ceil(window_us / 1000))
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local reset_us = 0
if oldest[2] then
  reset_us = tonumber(oldest[2]) + window_us - now
end
return {allowed, count, reset_us}
"""


class RedisRateLimiter:
    """``prefix`` is the whole start of each key; the service passes ``redis_prefix + RATE_LIMIT_KEYS``."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_REDIS_PREFIX + RATE_LIMIT_KEYS,
        fallback: InProcessRateLimiter | None = None,
        breaker: RedisBreaker | None = None,
    ) -> None:
        self.prefix = prefix
        self.fallback = fallback if fallback is not None else InProcessRateLimiter()
        self.breaker = breaker or RedisBreaker("rate limiter")
        self._clients = RedisClients(url)
        self._scripts: dict[int, Any] = {}

    def _script(self) -> Any:
        client = self._clients.get()
        script = self._scripts.get(id(client))
        if script is None:
            self._scripts = {id(client): client.register_script(SLIDING_LOG_LUA)}
            script = self._scripts[id(client)]
        return script

    async def hit(self, key: str, rate: str, *, record: bool = True) -> RateLimitDecision:
        parsed = parse_rate(rate)
        if self.breaker.available():
            member = uuid.uuid4().hex if record else ""
            try:
                allowed, count, reset_us = await self._script()(
                    keys=[self._key(key, parsed)],
                    args=[parsed.limit, int(parsed.window_s * 1_000_000), member],
                )
            except Exception as exc:
                if not is_outage(exc):
                    raise
                self.breaker.failed(exc)
            else:
                self.breaker.succeeded()
                token = member if allowed else ""
                return decision(parsed, bool(allowed), int(count), int(reset_us) / 1_000_000, token)
        return self.fallback.hit_sync(key, parsed, record=record)

    async def release(self, key: str, rate: str, token: str) -> None:
        """ZREM the hit's member; a hit the fallback recorded (during an outage) goes back to it.
        While Redis is unreachable a Redis hit cannot be given back: it leaves with its window."""
        parsed = parse_rate(rate)
        if not token or token.startswith(LOCAL_TOKEN_PREFIX):
            self.fallback.release_sync(key, parsed, token)
            return
        if not self.breaker.available():
            return
        try:
            await self._clients.get().zrem(self._key(key, parsed), token)
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.breaker.failed(exc)
        else:
            self.breaker.succeeded()

    def _key(self, key: str, rate: Rate) -> str:
        return f"{self.prefix}{rate.limit}:{int(rate.window_s * 1_000_000)}:{key}"

    async def aclose(self) -> None:
        await self._clients.aclose()

    def close(self) -> None:
        self._clients.close()
