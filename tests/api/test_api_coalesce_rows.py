"""Every copy of a coalesced image (api/coalesce.py) gets a request-log row as complete as a request
that ran alone: its own request id, client and timing, the image's size and format, and its stored
image (as a lone request's row keeps it).

Read back through the admin endpoints of a real app (create_app) with the real request log.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from test_api_coalesce import CountingGate, N, _burst, _cache_settings, _Hangup, _in_app

from api.helpers import AppFactory, runtime_of, unique_png
from api.logread import flush_log, read_rows
from capsight.api.results import RequestContext
from capsight.errors import ClientClosedRequest
from capsight.inference.classifier import OnnxClassifier
from servers import PostgresServer, RedisServer

# What a row says of the image and its outcome, the same for every copy of one upload.
SAME = ("endpoint", "client_id", "model_name", "model_version", "status_code", "error", "image_sha256")
IMAGE = ("image_bytes", "image_format", "width", "height", "image_ref")


class AlwaysFails(CountingGate):
    """The real model's gate, then a failure on every call (as a broken model's)."""

    def predict(self, batch: np.ndarray) -> np.ndarray:
        super().predict(batch)
        raise RuntimeError("simulated model failure")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def log_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The request log on the embedded SQLite file, or on a real PostgreSQL server."""
    if request.param == "sqlite":
        return {"store": True}
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return {"store": True, "database_url": server.create_schema()}


def _rows(client: TestClient) -> list[dict[str, Any]]:
    flush_log(client)
    return read_rows(client)


def _assert_like(rows: list[dict[str, Any]], alone: dict[str, Any], client: TestClient, data: bytes) -> None:
    assert len({row["request_id"] for row in rows}) == len(rows)  # each copy its own row
    for row in rows:
        assert {k: row[k] for k in SAME + IMAGE} == {k: alone[k] for k in SAME + IMAGE}, row
        assert row["latency_ms"] > 0
    assert alone["image_ref"] is not None and alone["width"] is not None  # what a lone request logs
    stored = client.get(f"/v1/images/{alone['image_sha256']}")
    assert stored.status_code == 200 and stored.content == data


def test_copies_whose_model_call_failed_log_the_image_and_keep_it(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, log_settings: dict[str, Any]
) -> None:
    """The copies that waited for the failed call (and their retry, whose flight decoded the image
    itself) logged no size or format and kept no image, where a lone request that failed logs both."""
    model = AlwaysFails(onnx_classifier)
    try:
        client = make_client(classifier=model, **log_settings)
        alone_data = unique_png("opened")
        model.gate.set()
        alone = client.post("/v1/classify", files={"file": ("a.png", alone_data, "image/png")})
        assert alone.status_code == 500
        model.gate.clear()
        model.entered.clear()
        data = unique_png("opened")
        responses = _burst(client, data, model, N - 1)
    finally:
        model.gate.set()
    assert [r.status_code for r in responses] == [500] * N
    assert model.rows == 3  # the lone request, the first call and the copies' one retry
    rows = _rows(client)
    (lone,) = [row for row in rows if row["request_id"] == alone.headers["X-Request-ID"]]
    copies = [row for row in rows if row["request_id"] != lone["request_id"]]
    assert len(copies) == N
    sha = copies[0]["image_sha256"]
    reference = {**lone, "image_sha256": sha, "image_ref": f"{sha[:2]}/{sha[2:4]}/{sha}"}
    _assert_like(copies, reference, client, data)
    assert {row["request_id"] for row in copies} == {r.headers["X-Request-ID"] for r in responses}


@pytest.mark.parametrize(
    "cache_settings", ["in-process", "off", pytest.param("redis", marks=pytest.mark.redis)], indirect=True
)
def test_answered_copies_and_a_later_cache_hit_log_the_image(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, cache_settings: dict[str, Any]
) -> None:
    model = CountingGate(onnx_classifier)
    try:
        client = make_client(classifier=model, **cache_settings)
        data = unique_png("closed")
        responses = _burst(client, data, model, N - 1)
        later = client.post("/v1/classify", files={"file": ("a.png", data, "image/png")})
    finally:
        model.gate.set()
    assert [r.status_code for r in [*responses, later]] == [200] * (N + 1)
    assert model.rows == (2 if cache_settings.get("cache_size") == 0 else 1)
    rows = _rows(client)
    assert len(rows) == N + 1
    (alone,) = [row for row in rows if row["request_id"] == later.headers["X-Request-ID"]]
    _assert_like(rows, alone, client, data)
    assert (alone["image_format"], alone["width"], alone["height"]) == ("PNG", 32, 24)
    assert sorted(row["cached"] for row in rows) == [False] * N + [cache_settings.get("cache_size") != 0]


@pytest.fixture(params=["in-process", "off", pytest.param("redis", marks=pytest.mark.redis)])
def cache_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _cache_settings(request)


def _waiters(service: Any) -> int:
    """How many requests wait for the one flight in progress (0 without one)."""
    flights = list(service._flights._flights.values())
    return flights[0].waiters if flights else 0


def test_a_copy_whose_client_left_after_the_decode_logs_the_image(
    make_client: AppFactory, onnx_classifier: OnnxClassifier
) -> None:
    """A lone request whose client leaves while the model has its image logs the image's size and
    keeps it (its decode is done); a copy waiting for another's call logged neither."""
    model = CountingGate(onnx_classifier)
    client = make_client(classifier=model, store=True, cache_size=0)
    service = runtime_of(client).service()
    data = unique_png("background")

    async def scenario() -> None:
        leader = asyncio.create_task(service.classify(data, RequestContext("leader", "/v1/classify", "a")))
        await asyncio.to_thread(model.entered.wait, 10)  # decoded, in the model
        hangs_up = _Hangup()
        copy = asyncio.create_task(
            service.classify(data, RequestContext("copy", "/v1/classify", "b"), receive=hangs_up)
        )
        deadline = time.monotonic() + 5
        while _waiters(service) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        hangs_up.left.set()
        with pytest.raises(ClientClosedRequest):
            await copy
        model.gate.set()
        await leader

    try:
        _in_app(client, scenario)
    finally:
        model.gate.set()
    rows = {row["request_id"]: row for row in _rows(client)}
    copy, leader = rows["copy"], rows["leader"]
    assert (copy["status_code"], copy["client_id"]) == (499, "b")
    assert {k: copy[k] for k in IMAGE} == {k: leader[k] for k in IMAGE}
    assert copy["image_ref"] is not None


@pytest.mark.redis
def test_a_lone_request_that_the_model_failed_logs_the_image_with_the_redis_cache(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, redis_server: RedisServer
) -> None:
    """With a shared cache the flight decodes the image itself, so even a request that ran alone
    logged no size or format when the model call failed, and kept no image (as before coalescing)."""
    model = AlwaysFails(onnx_classifier)
    model.gate.set()
    client = make_client(classifier=model, store=True, redis_url=redis_server.url)
    data = unique_png("closed")
    response = client.post("/v1/classify", files={"file": ("a.png", data, "image/png")})
    assert response.status_code == 500
    (row,) = _rows(client)
    assert (row["image_format"], row["width"], row["height"]) == ("PNG", 32, 24)
    sha = row["image_sha256"]
    assert row["image_ref"] == f"{sha[:2]}/{sha[2:4]}/{sha}"
    stored = client.get(f"/v1/images/{sha}")
    assert stored.status_code == 200 and stored.content == data
