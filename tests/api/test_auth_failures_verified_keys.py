"""CAPSIGHT_AUTH_FAILURE_LIMIT and keys this process verified before, with the real key store.

The failure limit reserves an attempt before each key lookup so that parallel guesses cannot
outrun it; a key already verified costs no lookup and is no guess, so it must neither be refused
while its own parallel requests hold reservations (32 clients of one address with one good key)
nor be locked out by a neighbour's guesses behind the same address."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, make_settings, runtime_of
from capsight.api.app import create_app
from capsight.inference import OnnxClassifier
from servers import RedisServer

SECRET = "capsight-test-secret-" + "x" * 24


def _post(client: TestClient, key: str) -> Any:
    return client.post(
        "/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers={"X-API-Key": key}
    )


def test_a_verified_key_is_served_while_its_address_is_past_the_limit(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True, auth_failure_limit="3/minute")
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, known = keys.create_key("known", "classify", None)
    _, unseen = keys.create_key("unseen", "classify", None)
    assert _post(client, known).status_code == 200  # verified once: this process knows it now
    for guess in ("cs_guess1", "cs_guess2", "cs_guess3"):
        assert _post(client, guess).status_code == 401
    assert _post(client, "cs_guess4").status_code == 429  # the guesses are stopped
    assert _post(client, known).status_code == 200  # the neighbour's key is not
    # A key never verified here needs a lookup, which the limit is there to bound: refused too.
    assert _post(client, unseen).status_code == 429


def _parallel_statuses(
    tmp_path: Path,
    colour_model_dir: Path,
    onnx_classifier: OnnxClassifier,
    redis_url: str | None,
    jwt_auth: bool,
    warm_up: bool = True,
) -> list[int]:
    """One request (unless not ``warm_up``), then 20 in parallel, from one address with one good
    credential."""
    settings = make_settings(
        colour_model_dir,
        tmp_path,
        auth_enabled=True,
        auth_failure_limit="3/minute",
        warmup=False,
        jwt_secret=SECRET,
        redis_url=redis_url,
        cache_size=0,
    )
    app = create_app(settings, classifier=onnx_classifier)
    image = jpeg("closed")

    async def scenario() -> list[int]:
        async with app.router.lifespan_context(app):
            await app.state.runtime.wait_ready(timeout=10)
            keys = app.state.runtime.services.keys
            assert keys is not None
            if jwt_auth:
                key = jwt.encode({"exp": int(time.time()) + 300, "sub": "busy"}, SECRET, algorithm="HS256")
                headers = {"Authorization": f"Bearer {key}"}
            else:
                headers = {"X-API-Key": keys.create_key("busy client", "classify", None)[1]}
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:

                async def one() -> int:
                    r = await client.post(
                        "/v1/classify",
                        files={"file": ("a.jpg", image, "image/jpeg")},
                        headers=headers,
                    )
                    return r.status_code

                first = [await one()] if warm_up else []
                return [*first, *await asyncio.gather(*(one() for _ in range(20)))]

    return asyncio.run(scenario())


def test_parallel_requests_with_a_verified_key_are_not_refused(
    tmp_path: Path, colour_model_dir: Path, onnx_classifier: OnnxClassifier
) -> None:
    statuses = _parallel_statuses(tmp_path, colour_model_dir, onnx_classifier, None, jwt_auth=False)
    assert statuses == [200] * 21, statuses


@pytest.mark.redis
@pytest.mark.parametrize("jwt_auth", [False, True], ids=["api-key", "jwt"])
def test_parallel_requests_with_a_good_credential_are_not_refused_with_redis(
    tmp_path: Path,
    colour_model_dir: Path,
    onnx_classifier: OnnxClassifier,
    redis_server: RedisServer,
    jwt_auth: bool,
) -> None:
    """Redis answers over the network, so every reservation is in flight at once."""
    statuses = _parallel_statuses(tmp_path, colour_model_dir, onnx_classifier, redis_server.url, jwt_auth)
    assert statuses == [200] * 21, statuses


@pytest.mark.redis
@pytest.mark.parametrize("shared_limiter", [False, True], ids=["in-process", "redis"])
def test_a_new_keys_first_parallel_requests_are_not_refused(
    tmp_path: Path,
    colour_model_dir: Path,
    onnx_classifier: OnnxClassifier,
    redis_server: RedisServer,
    shared_limiter: bool,
) -> None:
    """A key never verified here, used by 20 requests at once: one guess, one lookup, not 20
    reservations under a limit of 3 (17 of them were 429)."""
    redis_url = redis_server.url if shared_limiter else None
    statuses = _parallel_statuses(
        tmp_path, colour_model_dir, onnx_classifier, redis_url, jwt_auth=False, warm_up=False
    )
    assert statuses == [200] * 20, statuses


def test_parallel_requests_with_one_wrong_key_are_one_guess(make_client: AppFactory) -> None:
    """20 requests at once with the same wrong key cost one lookup and one failure, so the address
    still has the rest of its failures; 20 different wrong keys are 20 guesses."""
    client = make_client(store=True, auth_enabled=True, auth_failure_limit="3/minute")
    app = client.app
    image = jpeg("closed")

    async def burst(keys: list[str]) -> list[int]:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as http:

            async def one(key: str) -> int:
                files = {"file": ("a.jpg", image, "image/jpeg")}
                r = await http.post("/v1/classify", files=files, headers={"X-API-Key": key})
                return r.status_code

            return list(await asyncio.gather(*(one(key) for key in keys)))

    assert asyncio.run(burst(["cs_wrong"] * 20)) == [401] * 20
    assert asyncio.run(burst(["cs_other1"])) == [401]
    assert asyncio.run(burst(["cs_other2"])) == [401]
    assert asyncio.run(burst(["cs_other3"])) == [429]  # the fourth guess in the window
    statuses = asyncio.run(burst([f"cs_many{n}" for n in range(20)]))
    assert statuses == [429] * 20, statuses
