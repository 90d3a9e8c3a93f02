"""CAPSIGHT_AUTH_FAILURE_LIMIT and keys this process verified before, with the real key store.

The failure limit reserves an attempt before each key lookup so that parallel guesses cannot
outrun it; a key already verified costs no lookup and is no guess, so it must neither be refused
while its own parallel requests hold reservations (32 clients of one address with one good key)
nor be locked out by a neighbour's guesses behind the same address."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, make_settings, runtime_of
from capsight.api.app import create_app
from capsight.inference import OnnxClassifier


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


def test_parallel_requests_with_a_verified_key_are_not_refused(
    tmp_path: Path, colour_model_dir: Path, onnx_classifier: OnnxClassifier
) -> None:
    settings = make_settings(
        colour_model_dir, tmp_path, auth_enabled=True, auth_failure_limit="3/minute", warmup=False
    )
    app = create_app(settings, classifier=onnx_classifier)
    image = jpeg("closed")

    async def scenario() -> list[int]:
        async with app.router.lifespan_context(app):
            await app.state.runtime.wait_ready(timeout=10)
            keys = app.state.runtime.services.keys
            assert keys is not None
            _, key = keys.create_key("busy client", "classify", None)
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:

                async def one() -> int:
                    r = await client.post(
                        "/v1/classify",
                        files={"file": ("a.jpg", image, "image/jpeg")},
                        headers={"X-API-Key": key},
                    )
                    return r.status_code

                first = await one()
                return [first, *await asyncio.gather(*(one() for _ in range(20)))]

    statuses = asyncio.run(scenario())
    assert statuses == [200] * 21, statuses
