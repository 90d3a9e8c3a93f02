"""Shared plumbing for the Redis-backed cache and rate limiter: one client per event loop and an
outage breaker.

The service must keep answering while Redis is down, so every Redis call is wrapped by a
:class:`RedisBreaker`: the first failure logs one warning and opens the breaker, callers fall back
to their in-process twin, and after a short (growing) pause one call is let through to probe;
success logs the recovery. Timeouts are short because a slow cache is worse than no cache.

``redis.asyncio`` connections belong to the event loop that opened them; the app has one loop, but
tests and CLI helpers may run several, so :class:`RedisClients` opens a client per running loop.
Importing this module imports redis, which is why only Redis-configured code paths import it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import (
    MasterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from capsight.api.logtext import loggable

logger = logging.getLogger(__name__)

# The errors that mean "Redis is unreachable" (as opposed to a bug in how we call it). A Redis that
# answers but refuses writes (full at ``maxmemory`` with noeviction, a read-only replica after a
# failover, a replica cut off from its primary) is unusable too: without these the limiter's script
# raised, and the API failed open with no limit at all instead of falling back. So is one whose ACL
# user may not run what we send (NOPERM: scripts left out of a managed Redis's user); the one warning
# names the command.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OutOfMemoryError,
    ReadOnlyError,
    MasterDownError,
    NoPermissionError,
    ConnectionError,
    TimeoutError,
    OSError,
)

# Replies of the same kind that redis-py raises as a plain ``ResponseError``: ``BUSY`` (another
# client's script has run past ``busy-reply-threshold``, and Redis refuses every other command until
# it ends), ``NOREPLICAS`` (writes refused while ``min-replicas-to-write`` is not met) and ``MISCONF``
# (writes refused after a failed RDB snapshot, a full data disk say, with Redis's default
# ``stop-writes-on-bgsave-error yes``: the limiter failed open on every request, a traceback each).
_OUTAGE_REPLIES = ("BUSY ", "NOREPLICAS ", "MISCONF ")


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means Redis cannot serve now (fall back), rather than a bug (raise)."""
    if isinstance(exc, OUTAGE_ERRORS):
        return True
    return isinstance(exc, ResponseError) and str(exc).startswith(_OUTAGE_REPLIES)


class RedisBreaker:
    """Tracks one Redis outage at a time: warn once, back off, probe, log recovery."""

    def __init__(self, name: str, retry_s: float = 1.0, max_retry_s: float = 30.0) -> None:
        self.name = name
        self.retry_s = retry_s
        self.max_retry_s = max_retry_s
        self._down = False
        self._backoff = retry_s
        self._retry_at = 0.0
        self._probing = False  # a probe was let through and has not failed yet
        self._lock = threading.Lock()
        self.outages = 0  # how many distinct outages were seen; /metrics shows ``down`` (redis_fallback)

    @property
    def down(self) -> bool:
        return self._down

    def available(self) -> bool:
        """True when a call should go to Redis: healthy, or this call is the probe of a pause that
        is over. One probe per pause: letting every call through until one failed made each of
        them wait out the timeouts of a Redis that hangs. A probe that never reports (its request
        was cancelled) is replaced after another pause."""
        if not self._down:
            return True
        with self._lock:
            now = time.monotonic()
            if not self._down or now < self._retry_at:
                return not self._down
            self._probing = True
            self._retry_at = now + self._backoff
            return True

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            if not self._down:
                self._down = True
                self.outages += 1
                self._backoff = self.retry_s
                # A reply's text is the Redis server's (BUSY, MISCONF ...): escaped, as any text from
                # outside is, to stay one log line.
                logger.warning(
                    "redis %s unavailable (%s); falling back to in-process", self.name, loggable(str(exc))
                )
            elif self._probing:
                self._backoff = min(self._backoff * 2, self.max_retry_s)
            else:
                # A call that set out before the outage was counted: the same failure, seen again.
                # Doubling here took a busy replica to the longest pause at once.
                return
            self._probing = False
            self._retry_at = time.monotonic() + self._backoff

    def succeeded(self) -> None:
        if not self._down:
            return
        with self._lock:
            if self._down:
                self._down = False
                self._probing = False
                logger.warning("redis %s is back", self.name)


class RedisClients:
    """A ``redis.asyncio`` client per running event loop, opened lazily."""

    def __init__(self, url: str, *, socket_timeout: float = 0.5, connect_timeout: float = 0.5) -> None:
        self.url = url
        self._kwargs: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": connect_timeout,
            # One immediate retry re-opens a connection a Redis restart has broken; no backoff, since
            # the breaker (not the client) decides when to try again.
            "retry": Retry(NoBackoff(), 1),
            "health_check_interval": 0,
        }
        self._client: Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            if self._client is not None:
                _abandon(self._client)
            self._client = Redis.from_url(self.url, **self._kwargs)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if self._loop is asyncio.get_running_loop():
            with contextlib.suppress(Exception):
                await client.aclose()
        else:
            _abandon(client)
        self._loop = None

    def close(self, timeout: float = 2.0) -> None:
        """Close from synchronous code: on the client's loop if it is running in another thread
        (e.g. ``await asyncio.to_thread(services.close)``), else drop the sockets."""
        client, loop = self._client, self._loop
        self._client = self._loop = None
        if client is None or loop is None:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop.is_running() and running is not loop:
            future = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout)
            return
        _abandon(client)


def _abandon(client: Redis) -> None:
    """Close the sockets of a client whose event loop is gone (its ``aclose`` can no longer run).

    Reaches into asyncio/redis internals on purpose: the alternative is leaking one socket per
    abandoned loop, which only matters to short-lived loops (tests, CLI helpers), never the app's.
    """
    pool = client.connection_pool
    connections = list(getattr(pool, "_available_connections", [])) + list(
        getattr(pool, "_in_use_connections", [])
    )
    for connection in connections:
        writer = getattr(connection, "_writer", None)
        if writer is None:
            continue
        transport = writer.transport
        try:
            transport.abort()
        except Exception:  # the loop is closed: close the socket ourselves
            sock = getattr(transport, "_sock", None)
            if sock is not None:
                sock.close()
                transport._sock = None
        connection._writer = None
        connection._reader = None
