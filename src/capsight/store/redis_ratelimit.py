"""The Redis rate limiter: the in-process limiter's two algorithms, as atomic Lua scripts.

Up to ``EXACT_LOG_MAX`` hits per window it is the sliding log on a sorted set (one member per hit);
above, a hash of bucket counts (``BUCKETS_PER_WINDOW`` per window, each counted until its whole span
has left the window), so a client's key stays a few KB whatever the limit: under ``100000/day`` the
sorted set held one member per hit (~1.4 MB after 10,000 hits, ~13.6 MB at the limit).

The scripts read Redis's own clock (``TIME``), so replicas with skewed clocks still share one window,
and each does prune + count + add + expire in one round trip. They are idempotent per hit: the client
retries once when a reply times out, and a hit whose member was already counted is answered as
allowed again (it was refused, at the client's last slot, though the slot was its own). The bucket
script remembers the last ``RECENT_HITS`` members of each key for this, and for ``release``. While
Redis is down the limiter falls back to the in-process limiter, i.e. limits per replica instead of
globally (logged once).

A log lives under ``<CAPSIGHT_REDIS_PREFIX>rl:<limit>:<window in microseconds>:<client>``, buckets
under ``<CAPSIGHT_REDIS_PREFIX>rl:bk:<limit>:<window in microseconds>:<client>`` (each script's only
key, passed as ``KEYS[1]``), so deployments sharing one Redis database with different prefixes count
their clients apart, and a replica of a version before the buckets (which keeps a log for every
limit) never runs its sorted-set script on a bucket hash: during a rolling upgrade old and new
replicas count a limit above ``EXACT_LOG_MAX`` apart (a client may get up to its limit from each
side until the old replicas are gone), and share smaller limits as before.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from capsight.settings_checks import DEFAULT_REDIS_PREFIX
from capsight.store.protocols import RateLimitDecision
from capsight.store.ratelimit import (
    BUCKETS_PER_WINDOW,
    LOCAL_TOKEN_PREFIX,
    InProcessRateLimiter,
    Rate,
    bucketed,
    decision,
    parse_rate,
)
from capsight.store.redis_support import RedisBreaker, RedisClients, is_outage

# After the deployment's prefix: what sets the limiter's keys apart from the cache's.
RATE_LIMIT_KEYS = "rl:"
# After RATE_LIMIT_KEYS: a bucket hash's keys (a log's start with its limit, a number).
BUCKET_KEYS = "bk:"
# Members the bucket script remembers per key (retries and give-backs find their bucket by them).
RECENT_HITS = 32

# ARGV: limit, window in microseconds, the hit's member ('' counts nothing).
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

# ARGV: limit, window and bucket width in microseconds, the hit's member ('' counts nothing), and
# optionally the time in microseconds (tests; else Redis's TIME). Hash fields: 'b<index>' -> hits
# in that bucket, 'm<member>' -> its bucket's field and 'r<slot>' -> member for the last RECENT_HITS
# hits, 'c' -> hits recorded (the next slot).
BUCKET_COUNT_LUA = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window_us = tonumber(ARGV[2])
local width_us = tonumber(ARGV[3])
local member = ARGV[4]
local now
if ARGV[5] and ARGV[5] ~= '' then
  now = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local count, oldest, newest, gone = 0, nil, nil, {}
local flat = redis.call('HGETALL', key)
for i = 1, #flat, 2 do
  if string.sub(flat[i], 1, 1) == 'b' then
    local b = tonumber(string.sub(flat[i], 2))
    local n = tonumber(flat[i + 1])
    if n <= 0 or (b + 1) * width_us + window_us <= now then
      gone[#gone + 1] = flat[i]  -- all of its span has left the window
    else
      count = count + n
      if not oldest or b < oldest then oldest = b end
      if not newest or b > newest then newest = b end
    end
  end
end
if #gone > 0 then
  redis.call('HDEL', key, unpack(gone))
end
local allowed = 0
if member ~= '' and redis.call('HEXISTS', key, 'm' .. member) == 1 then
  allowed = 1  -- this very hit, sent again (a retry after a timed-out reply): already counted
elseif count < limit then
  allowed = 1
  if member ~= '' then
    local b = math.floor(now / width_us)
    if newest and newest > b then
      b = newest  -- Redis's clock went back: the newest bucket leaves later, never early
    end
    local field = 'b' .. string.format('%d', b)
    redis.call('HINCRBY', key, field, 1)
    count = count + 1
    if not oldest then oldest = b end
    local slot = 'r' .. (redis.call('HINCRBY', key, 'c', 1) % RECENT)
    local before = redis.call('HGET', key, slot)
    if before then
      redis.call('HDEL', key, 'm' .. before)
    end
    redis.call('HSET', key, slot, member, 'm' .. member, field)
  end
end
redis.call('PEXPIRE', key, math.ceil((window_us + width_us) / 1000))
local reset_us = 0
if oldest then
  reset_us = (oldest + 1) * width_us + window_us - now
end
return {allowed, count, reset_us}
""".replace("RECENT", str(RECENT_HITS))

# Gives back the hit ARGV[1] if the key still remembers it (once: the member is forgotten).
BUCKET_RELEASE_LUA = """
local key = KEYS[1]
local field = redis.call('HGET', key, 'm' .. ARGV[1])
if not field then
  return 0
end
redis.call('HDEL', key, 'm' .. ARGV[1])
local n = tonumber(redis.call('HGET', key, field))
if not n then
  return 0
end
if n <= 1 then
  redis.call('HDEL', key, field)
else
  redis.call('HINCRBY', key, field, -1)
end
return 1
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
        self._scripts: dict[int, dict[str, Any]] = {}

    def _script(self, text: str) -> Any:
        client = self._clients.get()
        scripts = self._scripts.get(id(client))
        if scripts is None:
            texts = (SLIDING_LOG_LUA, BUCKET_COUNT_LUA, BUCKET_RELEASE_LUA)
            scripts = {lua: client.register_script(lua) for lua in texts}
            self._scripts = {id(client): scripts}
        return scripts[text]

    async def hit(self, key: str, rate: str, *, record: bool = True) -> RateLimitDecision:
        parsed = parse_rate(rate)
        if self.breaker.available():
            member = uuid.uuid4().hex if record else ""
            window_us = int(parsed.window_s * 1_000_000)
            if bucketed(parsed):
                lua = BUCKET_COUNT_LUA
                args = [parsed.limit, window_us, math.ceil(window_us / BUCKETS_PER_WINDOW), member]
            else:
                lua, args = SLIDING_LOG_LUA, [parsed.limit, window_us, member]
            try:
                allowed, count, reset_us = await self._script(lua)(keys=[self._key(key, parsed)], args=args)
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
        """ZREM the hit's member, or take one from its bucket while the key remembers it (its last
        ``RECENT_HITS`` hits; an older one stays counted until its bucket leaves); a hit the fallback
        recorded (during an outage) goes back to it. While Redis is unreachable a Redis hit cannot be
        given back: it leaves with its window."""
        parsed = parse_rate(rate)
        if not token or token.startswith(LOCAL_TOKEN_PREFIX):
            self.fallback.release_sync(key, parsed, token)
            return
        if not self.breaker.available():
            return
        try:
            if bucketed(parsed):
                await self._script(BUCKET_RELEASE_LUA)(keys=[self._key(key, parsed)], args=[token])
            else:
                await self._clients.get().zrem(self._key(key, parsed), token)
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.breaker.failed(exc)
        else:
            self.breaker.succeeded()

    def _key(self, key: str, rate: Rate) -> str:
        kind = BUCKET_KEYS if bucketed(rate) else ""
        return f"{self.prefix}{kind}{rate.limit}:{int(rate.window_s * 1_000_000)}:{key}"

    async def aclose(self) -> None:
        await self._clients.aclose()

    def close(self) -> None:
        self._clients.close()
