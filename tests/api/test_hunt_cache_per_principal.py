"""With auth on, one client's uploads never answer another client's requests from the result cache:
a ``cached: true`` (or a fast answer) would tell the second client that someone else sent the same
image bytes. Each principal (API key id, JWT subject) gets its own entries; with auth off the cache
is shared by everyone, as before."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from api.helpers import AppFactory, runtime_of, unique_png
from servers import RedisServer


def _post(client: TestClient, data: bytes, key: str | None = None, path: str = "/v1/classify") -> Any:
    headers = {"X-API-Key": key} if key else None
    r = client.post(path, files={"file": ("a.png", data, "image/png")}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _two_keys(client: TestClient) -> tuple[tuple[str, str], tuple[str, str]]:
    """(key id, plaintext) of two classify keys."""
    keys = runtime_of(client).services.keys
    assert keys is not None
    return keys.create_key("alice"), keys.create_key("bob")


def test_one_keys_upload_is_no_cache_hit_for_another_key(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    (_, alice), (_, bob) = _two_keys(client)
    data = unique_png("opened")
    assert _post(client, data, alice)["cached"] is False
    assert _post(client, data, bob)["cached"] is False  # was True: bob learnt alice sent it
    assert _post(client, data, alice)["cached"] is True
    assert _post(client, data, bob)["cached"] is True
    batch = client.post(
        "/v1/classify/batch",
        files=[("files", ("a.png", data, "image/png"))],
        headers={"X-API-Key": bob},
    )
    assert batch.status_code == 200 and batch.json()["results"][0]["cached"] is True
    fresh = unique_png("closed")
    assert _post(client, fresh, bob)["cached"] is False
    batch = client.post(
        "/v1/classify/batch",
        files=[("files", ("a.png", fresh, "image/png"))],
        headers={"X-API-Key": alice},
    )
    assert batch.status_code == 200 and batch.json()["results"][0]["cached"] is False


def test_without_auth_the_cache_stays_shared(make_client: AppFactory) -> None:
    client = make_client(store=True)
    data = unique_png("opened")
    assert _post(client, data)["cached"] is False
    assert _post(client, data)["cached"] is True


def _wait_for_keys(url: str, sha: str, count: int, timeout: float = 5.0) -> list[str]:
    """The cache write happens just after the response; wait until Redis holds ``count`` entries
    for these bytes."""
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            found = sorted(k.decode() for k in client.scan_iter(match=f"*{sha}*"))
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, f"only {found} reached Redis"
            time.sleep(0.01)
    finally:
        client.close()


@pytest.mark.redis
def test_replicas_sharing_redis_keep_each_keys_entries_apart(
    make_client: AppFactory, tmp_path: Path, redis_server: RedisServer
) -> None:
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    a, b = (
        make_client(
            store=True,
            auth_enabled=True,
            redis_url=redis_server.url,
            database_url=database,
            data_dir=tmp_path / name,
        )
        for name in ("a", "b")
    )
    (alice_id, alice), (bob_id, bob) = _two_keys(a)
    data = unique_png("opened")
    sha = hashlib.sha256(data).hexdigest()
    assert _post(a, data, alice)["cached"] is False
    (alices,) = _wait_for_keys(redis_server.url, sha, 1)
    assert alices.endswith(f":{sha}@{alice_id}")
    assert _post(b, data, bob)["cached"] is False
    assert _wait_for_keys(redis_server.url, sha, 2) == sorted([alices, alices.replace(alice_id, bob_id)])
    assert _post(b, data, alice)["cached"] is True
    assert _post(a, data, bob)["cached"] is True


@pytest.mark.redis
def test_without_auth_replicas_still_share_one_redis_entry(
    make_client: AppFactory, tmp_path: Path, redis_server: RedisServer
) -> None:
    a, b = (make_client(store=True, redis_url=redis_server.url, data_dir=tmp_path / n) for n in "ab")
    data = unique_png("closed")
    sha = hashlib.sha256(data).hexdigest()
    assert _post(a, data)["cached"] is False
    meta = runtime_of(a).metadata
    assert _wait_for_keys(redis_server.url, sha, 1) == [
        f"capsight:cache:{meta.name}:{meta.version}:{meta.fingerprint}:{sha}"
    ]
    assert _post(b, data)["cached"] is True
