"""A corrupt result-cache entry is classified around, never a 500 (``result_cache``'s contract).

Replicas of several releases share one Redis during a rolling upgrade, and a Redis is sometimes
shared with other tools: an entry whose probabilities are not numbers passed validation (only the
label set was checked) and then failed while it was turned into the answer, a 500 for every
request of that image until the entry expired (a day by default).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import redis

from api.helpers import AppFactory, runtime_of, unique_png
from servers import RedisServer


def _poison(meta: Any, probability: Any) -> dict[str, Any]:
    label = meta.labels[0]
    return {
        "label": label,
        "confidence": 0.5,
        "probabilities": {name: probability for name in meta.labels},
        "width": 8,
        "height": 8,
        "format": "PNG",
    }


@pytest.mark.parametrize("probability", [None, "high", [0.5], "NaN"])
def test_in_process_entry_with_bad_probabilities_is_classified_around(
    make_client: AppFactory, probability: Any
) -> None:
    client = make_client(store=True, request_log=False)
    runtime = runtime_of(client)
    data = unique_png("opened")
    sha = hashlib.sha256(data).hexdigest()
    meta = runtime.metadata
    key = f"{meta.name}:{meta.version}:{meta.fingerprint}:{sha}"
    assert runtime.services.cache is not None
    runtime.services.cache.set_sync(key, _poison(meta, probability))  # type: ignore[attr-defined]

    r = client.post("/v1/classify", files={"file": ("a.png", data, "image/png")})

    assert r.status_code == 200, r.text
    assert r.json()["cached"] is False
    assert r.json()["label"] == "opened"


@pytest.mark.redis
def test_redis_entry_with_bad_probabilities_is_classified_around(
    make_client: AppFactory, redis_server: RedisServer
) -> None:
    client = make_client(store=True, request_log=False, redis_url=redis_server.url)
    meta = runtime_of(client).metadata
    data = unique_png("closed")
    sha = hashlib.sha256(data).hexdigest()
    key = f"capsight:cache:{meta.name}:{meta.version}:{meta.fingerprint}:{sha}"
    direct = redis.Redis.from_url(redis_server.url)
    try:
        direct.set(key, json.dumps(_poison(meta, None)), ex=60)
        r = client.post("/v1/classify", files={"file": ("a.png", data, "image/png")})
    finally:
        direct.close()

    assert r.status_code == 200, r.text
    assert r.json()["cached"] is False
    assert r.json()["label"] == "closed"
