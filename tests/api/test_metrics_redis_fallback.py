"""/metrics says while the cache and the rate limiter run in-process because Redis failed.

During a Redis outage each replica limits on its own (N replicas: up to N times the limit) and
caches apart; the only sign was one log line per worker, and nothing to alert on, though the
breaker's code said its state was exposed for metrics. ``capsight_redis_fallback{part=...}`` is 1
while that part falls back (with several workers, how many of them), 0 once Redis answers again.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, metric_sample, unique_png
from servers import start_redis

pytestmark = pytest.mark.redis


def _fallback(client: TestClient, part: str) -> float:
    return metric_sample(client.get("/metrics").text, "capsight_redis_fallback", part=part)


def _classify(client: TestClient) -> int:
    files = {"file": ("a.png", unique_png("opened"), "image/png")}
    return client.post("/v1/classify", files=files).status_code


def test_the_fallback_gauge_follows_a_redis_outage(make_client: AppFactory) -> None:
    with start_redis() as server:
        client = make_client(store=True, redis_url=server.url, rate_limit="1000/minute")
        assert _classify(client) == 200
        assert (_fallback(client, "rate_limiter"), _fallback(client, "cache")) == (0, 0)

        server.kill()
        assert _classify(client) == 200  # limited and cached in process meanwhile
        assert (_fallback(client, "rate_limiter"), _fallback(client, "cache")) == (1, 1)

        server.start()  # the breaker probes again 1 s after the failure
        deadline = time.monotonic() + 15
        while _fallback(client, "rate_limiter") or _fallback(client, "cache"):
            assert time.monotonic() < deadline, "the gauge never went back to 0"
            assert _classify(client) == 200
            time.sleep(0.2)


def test_no_redis_means_no_fallback_series(make_client: AppFactory) -> None:
    client = make_client(store=True, rate_limit="1000/minute")
    assert "capsight_redis_fallback{" not in client.get("/metrics").text
