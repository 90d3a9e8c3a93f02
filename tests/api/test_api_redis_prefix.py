"""Two deployments of the same model (staging and production) on one Redis database, told apart by
CAPSIGHT_REDIS_PREFIX only: neither answers from the other's cache nor counts the other's requests
against a client's limit. Without the setting their keys were the same."""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from api.helpers import AppFactory, runtime_of, unique_png
from servers import RedisServer

pytestmark = pytest.mark.redis


def _post(client: TestClient, data: bytes) -> Any:
    return client.post("/v1/classify", files={"file": ("a.png", data, "image/png")})


def _wait_for_key(url: str, key: str, timeout: float = 5.0) -> None:
    """The cache write happens just after the response; wait until Redis really has it."""
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + timeout
        while not client.exists(key):
            assert time.monotonic() < deadline, f"{key} never reached Redis"
            time.sleep(0.01)
    finally:
        client.close()


def test_two_deployments_with_their_own_prefix_share_neither_cache_nor_limits(
    make_client: AppFactory, tmp_path: Path, redis_server: RedisServer
) -> None:
    run = uuid.uuid4().hex[:8]
    staging, production = (
        make_client(
            store=True,
            redis_url=redis_server.url,
            redis_prefix=f"{name}-{run}:",
            rate_limit="2/minute",
            request_log=False,
            data_dir=tmp_path / name,
        )
        for name in ("staging", "production")
    )
    photo = unique_png("opened")
    fingerprint = runtime_of(staging).metadata.fingerprint
    assert fingerprint and runtime_of(production).metadata.fingerprint == fingerprint  # the same model

    first = _post(staging, photo)
    assert first.json()["cached"] is False and first.headers["x-ratelimit-remaining"] == "1"
    sha = hashlib.sha256(photo).hexdigest()
    _wait_for_key(redis_server.url, f"staging-{run}:cache:bottle-status:test-1:{fingerprint}:{sha}")

    other = _post(production, photo)
    assert other.status_code == 200
    assert other.json()["cached"] is False  # not staging's entry
    assert other.headers["x-ratelimit-remaining"] == "1"  # staging's request is not counted here

    again = _post(staging, photo)
    assert again.json()["cached"] is True and again.headers["x-ratelimit-remaining"] == "0"
    assert _post(staging, photo).status_code == 429
    assert _post(production, photo).status_code == 200  # its own second request of two
