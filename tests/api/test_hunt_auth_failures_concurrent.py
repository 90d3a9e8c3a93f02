"""CAPSIGHT_AUTH_FAILURE_LIMIT under concurrency: parallel guesses from one address must not all pass
the check before any of them is counted. Checked before the lookup and counted after it, 20 parallel
made-up keys against a limit of 3 all reached the key store (limit + N - 1 lookups per window)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx2
import pytest

from api.fakes import KeyAuthenticator
from api.helpers import jpeg, make_settings
from capsight.api.app import create_app
from capsight.inference import OnnxClassifier
from capsight.store.protocols import Principal, RateLimiter
from capsight.store.ratelimit import InProcessRateLimiter
from capsight.store.redis_ratelimit import RedisRateLimiter
from capsight.store.services import Services
from servers import RedisServer


class SlowKeyStore(KeyAuthenticator):
    """A key lookup that takes a while, as a loaded database does; counts the lookups."""

    def __init__(self) -> None:
        super().__init__({"good": Principal(id="key:1", name="good")})
        self.lookups = 0

    async def authenticate(
        self,
        headers: dict[str, str],
        client_ip: str,
        *,
        before_guess: Callable[[], Awaitable[None]] | None = None,
    ) -> Principal:
        if before_guess is not None:
            await before_guess()  # every key is looked up: a key store with an empty cache
        self.lookups += 1
        await asyncio.sleep(0.3)  # the database's latency, not a synchronisation
        return await super().authenticate(headers, client_ip)


def _statuses(
    tmp_path: Path, onnx_classifier: OnnxClassifier, limiter: RateLimiter, keys: list[str]
) -> tuple[list[int], SlowKeyStore]:
    store = SlowKeyStore()
    settings = make_settings(
        onnx_classifier.model_dir, tmp_path, warmup=False, auth_enabled=True, auth_failure_limit="3/minute"
    )
    app = create_app(
        settings, classifier=onnx_classifier, services=Services(authenticator=store, rate_limiter=limiter)
    )
    image = jpeg("closed")

    async def scenario() -> list[int]:
        async with app.router.lifespan_context(app):
            await app.state.runtime.wait_ready(timeout=10)
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:

                async def one(key: str) -> int:
                    r = await client.post(
                        "/v1/classify",
                        files={"file": ("a.jpg", image, "image/jpeg")},
                        headers={"X-API-Key": key},
                    )
                    if r.status_code == 429:
                        assert r.json() == {
                            "error": "Too many failed authentication attempts from this address; retry later."
                        }
                        assert int(r.headers["retry-after"]) >= 1
                    return r.status_code

                return list(await asyncio.gather(*(one(k) for k in keys)))

    return asyncio.run(scenario()), store


def _check_guesses(tmp_path: Path, onnx_classifier: OnnxClassifier, limiter: RateLimiter) -> None:
    statuses, store = _statuses(tmp_path, onnx_classifier, limiter, [f"guess-{i}" for i in range(20)])
    assert store.lookups == 3, f"{store.lookups} key lookups for a limit of 3"
    assert sorted(statuses) == [401] * 3 + [429] * 17


def _check_valid_keys_give_back(
    tmp_path: Path, onnx_classifier: OnnxClassifier, limiter: RateLimiter
) -> None:
    """Successes never count: three parallel valid keys, then three more, then a guess is still looked up."""
    for keys in (["good"] * 3, ["good"] * 3, ["guess", "good", "good"]):
        statuses, store = _statuses(tmp_path, onnx_classifier, limiter, keys)
        assert store.lookups == 3
        assert sorted(statuses) == sorted(200 if k == "good" else 401 for k in keys)


def test_parallel_guesses_are_bounded_by_the_limit_in_process(
    tmp_path: Path, onnx_classifier: OnnxClassifier
) -> None:
    _check_guesses(tmp_path, onnx_classifier, InProcessRateLimiter())


def test_valid_keys_give_their_attempt_back_in_process(
    tmp_path: Path, onnx_classifier: OnnxClassifier
) -> None:
    _check_valid_keys_give_back(tmp_path, onnx_classifier, InProcessRateLimiter())


@pytest.mark.redis
def test_parallel_guesses_are_bounded_by_the_limit_in_redis(
    tmp_path: Path, onnx_classifier: OnnxClassifier, redis_server: RedisServer
) -> None:
    limiter = RedisRateLimiter(redis_server.url, prefix="t-hunt-authfail-guess:")
    try:
        _check_guesses(tmp_path, onnx_classifier, limiter)
    finally:
        limiter.close()


@pytest.mark.redis
def test_valid_keys_give_their_attempt_back_in_redis(
    tmp_path: Path, onnx_classifier: OnnxClassifier, redis_server: RedisServer
) -> None:
    limiter = RedisRateLimiter(redis_server.url, prefix="t-hunt-authfail-valid:")
    try:
        _check_valid_keys_give_back(tmp_path, onnx_classifier, limiter)
    finally:
        limiter.close()
