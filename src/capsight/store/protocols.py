"""The small interfaces between the request path and the production parts (database, blobs, cache,
rate limits, auth).

The API codes against these protocols only; ``capsight.store.services.build_services`` picks the
embedded defaults (SQLite, local folder, in-process LRU and limiter) or the shared backends
(PostgreSQL, S3, Redis) from settings. Keeping the seam this narrow is what lets one code base run on
a laptop and as many replicas behind a load balancer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class ClassificationRecord:
    """One classification as written to the request log."""

    request_id: str
    created_at: datetime
    endpoint: str  # "/classify", "/v1/classify", "/v1/classify/batch", "/v2/...", "job:<id>"
    client_id: str  # API key id, JWT subject, or client IP
    model_name: str
    model_version: str
    label: str | None
    confidence: float | None
    probabilities: dict[str, float] | None
    latency_ms: float
    image_sha256: str | None
    image_bytes: int
    image_format: str | None
    width: int | None
    height: int | None
    status_code: int = 200
    error: str | None = None
    cached: bool = False
    # Position of the image within a multi-image request; (request_id, item_index) is the unique key
    # of a classification, so a batch request logs one row per image under one request id.
    item_index: int = 0
    client_request_id: str | None = None  # the client's X-Request-ID; request_id is the server's
    item_count: int | None = None  # how many images a batch request had; None otherwise


class ResultCache(Protocol):
    """Result cache keyed by ``f"{model_name}:{model_version}:{fingerprint}:{image_sha256}"``; a hit
    skips decode and inference."""

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def set(self, key: str, value: dict[str, Any]) -> None: ...


class RequestRecorder(Protocol):
    """Writes the request log and stores images. ``submit`` never blocks and never raises."""

    def submit(self, record: ClassificationRecord, image: bytes | None) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key, a JWT subject, or an anonymous client identified by IP."""

    id: str
    name: str
    scopes: frozenset[str] = frozenset({"classify"})
    rate_limit: str | None = None  # e.g. "100/minute"; None = the service default
    anonymous: bool = False

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


class Authenticator(Protocol):
    """Resolves request headers to a Principal; raises Unauthorized for a missing/invalid credential."""

    async def authenticate(
        self,
        headers: dict[str, str],
        client_ip: str,
        *,
        before_guess: Callable[[], Awaitable[None]] | None = None,
    ) -> Principal:
        """``before_guess`` is awaited before any check whose outcome is not already known (a key
        lookup, a token whose signature does not verify), so the caller can count it against the
        per-address failure limit, and refuse it (by raising) before a lookup happens. A credential
        this process verified before, a missing one and a token signed with a trusted key but refused
        for its claims (expired, say) guess nothing and skip it (see api/security.py)."""
        ...


@dataclass(frozen=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until the window has room again
    headers: dict[str, str] = field(default_factory=dict)
    # Names the hit this decision recorded ("" when none), for ``RateLimiter.release``.
    token: str = ""


class RateLimiter(Protocol):
    """Sliding-window limiter shared across replicas (Redis) or in-process."""

    async def hit(self, key: str, rate: str, *, record: bool = True) -> RateLimitDecision:
        """Count one call under ``key`` if ``rate`` allows it. ``record=False`` only asks whether one
        more would be allowed, counting nothing."""
        ...

    async def release(self, key: str, rate: str, token: str) -> None:
        """Take back the hit ``token`` (a decision's) recorded, as if it had never been counted.

        The failed-authentication limit counts an attempt before the key lookup, so parallel guesses
        cannot all pass one check, and gives it back once the credentials turn out valid."""
        ...
