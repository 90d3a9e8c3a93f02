"""Tiny in-test implementations of the store protocols, to test the API's use of the Services seam.

The real backends (LRU, Redis, SQL, S3) are tested in tests/store/; these only record what the API
asked of them, or fail on purpose.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from capsight.errors import Unauthorized
from capsight.store.protocols import ClassificationRecord, Principal, RateLimitDecision


class DictCache:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self.gets: list[str] = []

    async def get(self, key: str) -> dict[str, Any] | None:
        self.gets.append(key)
        return self.data.get(key)

    async def set(self, key: str, value: dict[str, Any]) -> None:
        self.data[key] = value


class BrokenCache:
    async def get(self, key: str) -> dict[str, Any] | None:
        raise ConnectionError("cache down")

    async def set(self, key: str, value: dict[str, Any]) -> None:
        raise ConnectionError("cache down")


class ListRecorder:
    def __init__(self) -> None:
        self.records: list[tuple[ClassificationRecord, bytes | None]] = []
        self.closed = False

    def submit(self, record: ClassificationRecord, image: bytes | None) -> None:
        self.records.append((record, image))

    def close(self) -> None:
        self.closed = True


class BrokenRecorder(ListRecorder):
    def submit(self, record: ClassificationRecord, image: bytes | None) -> None:
        raise OSError("disk full")


class CountingLimiter:
    """Allows ``allowed`` hits per key, then refuses."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.hits: dict[str, int] = {}
        self.rates: list[str] = []

    async def hit(self, key: str, rate: str, *, record: bool = True) -> RateLimitDecision:
        self.rates.append(rate)
        used = self.hits.get(key, 0) + 1
        if record:
            self.hits[key] = used
        return RateLimitDecision(
            allowed=used <= self.allowed, limit=self.allowed, remaining=self.allowed - used, reset_after=12.3
        )


class KeyAuthenticator:
    def __init__(self, keys: dict[str, Principal]) -> None:
        self.keys = keys

    async def authenticate(
        self,
        headers: dict[str, str],
        client_ip: str,
        *,
        before_guess: Callable[[], Awaitable[None]] | None = None,
    ) -> Principal:
        if before_guess is not None:
            await before_guess()  # every request is looked up, as a key store with an empty cache would
        principal = self.keys.get(headers.get("x-api-key", ""))
        if principal is None:
            raise Unauthorized()
        return principal
