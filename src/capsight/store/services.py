"""Assembles the production parts chosen by settings into one ``Services`` bundle for the app.

Building is cheap on purpose (the service must be ready within about two seconds): nothing here
connects to anything, and nothing imports SQLAlchemy (the store modules load it on first database
use). The recorder thread migrates the database in the background, Redis clients connect on first
use, and boto3 / redis / jwt are imported only when their backend is configured. The API builds with
``start=False`` and calls :meth:`Services.start` once its model is loaded, so the request log's
first connection and migration do not compete with the model for the CPU during start-up.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from capsight.settings import Settings
from capsight.store.deadline import DB_CALL_TIMEOUT_S, wait_for_calls
from capsight.store.protocols import Authenticator, RateLimiter, RequestRecorder, ResultCache

if TYPE_CHECKING:  # keeps importing this module free of SQLAlchemy
    from capsight.store.database import Database
    from capsight.store.keys import KeyStore
    from capsight.store.requestlog import RequestLog
    from capsight.store.retention_thread import RetentionThread

logger = logging.getLogger(__name__)


@dataclass
class Services:
    cache: ResultCache | None = None
    recorder: RequestRecorder | None = None
    rate_limiter: RateLimiter | None = None
    authenticator: Authenticator | None = None
    # Added by the store work, for the admin endpoints and the CLI (None in hand-built bundles):
    request_log: RequestLog | None = None  # list_requests, get_image, purge_older_than
    keys: KeyStore | None = None  # create_key, list_keys, revoke_key
    database: Database | None = None  # ping() for health checks
    # The retention purge where no recorder runs it (CAPSIGHT_REQUEST_LOG=false); see retention_thread.
    retention: RetentionThread | None = None
    _closed: bool = field(default=False, init=False, repr=False)

    def start(self) -> None:
        """Start the background parts (the request log's writer thread); idempotent."""
        starter = getattr(self.recorder, "start", None)
        if starter is not None and not self._closed:
            starter()
        if self.retention is not None and not self._closed:
            self.retention.start()

    def close(self) -> None:
        """Stop the recorder (writing or spooling what is queued) and release database connections."""
        if self._closed:
            return
        self._closed = True
        if self.retention is not None:
            self.retention.close()
        for part in (self.cache, self.rate_limiter):
            closer = getattr(part, "close", None)
            if closer is not None:
                closer()
        if self.recorder is not None:
            self.recorder.close()
        if self.database is not None:
            wait_for_calls(DB_CALL_TIMEOUT_S)  # a request's call still running keeps its connection
            self.database.dispose()

    async def aclose(self) -> None:
        """``close`` from async code: Redis connections are closed on this loop, the rest in a thread."""
        for part in (self.cache, self.rate_limiter):
            closer = getattr(part, "aclose", None)
            if closer is not None:
                await closer()
        await asyncio.to_thread(self.close)


def build_services(settings: Settings, *, start: bool = True) -> Services:
    """Embedded defaults (SQLite, local folder, in-process LRU and limiter) unless settings point at
    shared backends (PostgreSQL, S3, Redis). With ``start=False`` records queue in memory until
    :meth:`Services.start`."""
    from capsight.store.auth import ApiKeyAuthenticator, JwtVerifier
    from capsight.store.blobs import open_blob_store
    from capsight.store.database import Database
    from capsight.store.keys import KeyStore
    from capsight.store.requestlog import RequestLog

    database = Database(settings.resolved_database_url())
    blobs = open_blob_store(settings.resolved_storage_url(), s3_endpoint_url=settings.s3_endpoint_url)
    keys = KeyStore(database)
    jwt = None
    if settings.jwt_secret or settings.jwt_public_key:
        jwt = JwtVerifier(
            secret=settings.jwt_secret,
            previous_secret=settings.jwt_previous_secret,
            public_key=settings.jwt_public_key,
            algorithm=settings.jwt_algorithm,
            audience=settings.jwt_audiences(),
            issuer=settings.jwt_issuers(),
            require_exp=settings.jwt_require_exp,
            leeway_seconds=settings.jwt_leeway_seconds,
        )
    services = Services(
        cache=_cache(settings),
        rate_limiter=_rate_limiter(settings),
        authenticator=ApiKeyAuthenticator(keys, jwt),
        request_log=RequestLog(database, blobs),
        keys=keys,
        database=database,
    )
    if settings.request_log:
        from capsight.store.recorder import DatabaseRecorder, RecorderConfig

        config = RecorderConfig(
            store_images=settings.store_images,
            retention_days=settings.retention_days,
            spool_max_image_bytes=settings.spool_max_image_bytes or None,
        )
        services.recorder = DatabaseRecorder(database, blobs, settings.data_dir / "spool", config)
    elif settings.retention_days > 0:
        from capsight.store.retention_thread import RetentionThread

        services.retention = RetentionThread(database, blobs, settings.retention_days)
    if start:
        services.start()
    return services


def _cache(settings: Settings) -> ResultCache | None:
    if settings.cache_size <= 0:
        return None
    from capsight.store.cache import LRUCache

    local = LRUCache(settings.cache_size, max_bytes=settings.cache_max_bytes)
    if not settings.redis_url:
        return local
    from capsight.store.redis_cache import CACHE_KEYS, RedisCache

    return RedisCache(
        settings.redis_url,
        ttl_s=settings.cache_ttl_seconds,
        prefix=settings.redis_prefix + CACHE_KEYS,
        fallback=local,
    )


def _rate_limiter(settings: Settings) -> RateLimiter:
    from capsight.store.ratelimit import InProcessRateLimiter, parse_rate

    if settings.rate_limit:
        parse_rate(settings.rate_limit)  # a typo in CAPSIGHT_RATE_LIMIT fails at start, not per request
    if not settings.redis_url:
        return InProcessRateLimiter()
    from capsight.store.redis_ratelimit import RATE_LIMIT_KEYS, RedisRateLimiter

    return RedisRateLimiter(settings.redis_url, prefix=settings.redis_prefix + RATE_LIMIT_KEYS)
