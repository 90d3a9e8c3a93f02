"""Copies of one image sent at the same moment run the model once (single flight, api/coalesce.py).

The result cache only answers once an answer exists: 16 clients uploading the same photo at the
same moment all missed it and the model ran 16 times. These tests hold the model call at a gate
while the copies arrive, on the real colour model, and count the rows the model actually scored.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

import capsight.api.runtime as runtime_module
import capsight.api.service as service_module
from api.helpers import AppFactory, WrappedClassifier, metric_sample, runtime_of, unique_png
from capsight.api.results import RequestContext
from capsight.errors import ClientClosedRequest
from capsight.inference.classifier import OnnxClassifier
from servers import RedisServer

N = 16


class CountingGate(WrappedClassifier):
    """The real model; counts the rows of every call on entry and holds each call at a gate.
    ``fail_first``: the first call fails (after the gate), as a model error would."""

    def __init__(self, inner: OnnxClassifier, fail_first: bool = False) -> None:
        super().__init__(inner)
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.rows = 0
        self._fail = fail_first

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.rows += len(batch)
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        if self._fail:
            self._fail = False
            raise RuntimeError("simulated model failure")
        return super().predict(batch)


@pytest.fixture
def gated(onnx_classifier: OnnxClassifier) -> Iterator[CountingGate]:
    classifier = CountingGate(onnx_classifier)
    yield classifier
    classifier.gate.set()  # never leave the worker (and the app's shutdown) blocked


def _coalesced(client: TestClient) -> float:
    text = client.get("/metrics").text
    return metric_sample(text, "capsight_coalesced_images_total") if "capsight_coalesced" in text else 0.0


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for ``condition``; go on after ``timeout`` regardless (the assertions then tell)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def _burst(
    client: TestClient, data: bytes, gate: CountingGate, waiting: int, keys: tuple[str, ...] = ()
) -> list[Any]:
    """``N`` uploads of ``data`` at once (sent with ``keys`` in turn, if any); the gate opens once
    the model holds the first one and ``waiting`` others wait (for it, or queued for calls of their
    own)."""
    barrier = threading.Barrier(N)
    batcher = runtime_of(client).batcher
    assert batcher is not None

    def post(i: int) -> Any:
        headers = {"X-API-Key": keys[i % len(keys)]} if keys else None
        barrier.wait()
        return client.post("/v1/classify", files={"file": ("a.png", data, "image/png")}, headers=headers)

    with ThreadPoolExecutor(N) as pool:
        futures = [pool.submit(post, i) for i in range(N)]
        _until(lambda: gate.entered.is_set() and _coalesced(client) + len(batcher._pending) >= waiting)
        gate.gate.set()
        return [f.result(timeout=30) for f in futures]


def _cache_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The backends the app builds from settings (store=True), as in production."""
    if request.param == "off":
        return {"store": True, "cache_size": 0}
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        return {"store": True, "redis_url": server.url}
    return {"store": True}


@pytest.fixture(params=["in-process", "off", pytest.param("redis", marks=pytest.mark.redis)])
def cache_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _cache_settings(request)


def test_concurrent_copies_of_one_image_run_the_model_once(
    make_client: AppFactory, gated: CountingGate, cache_settings: dict[str, Any], tmp_path: Path
) -> None:
    client = make_client(classifier=gated, **cache_settings)
    data = unique_png("opened")
    responses = _burst(client, data, gated, N - 1)
    assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert gated.rows == 1  # was 16: every copy ran the model
    answers = [{k: v for k, v in b.items() if k not in ("request_id", "timing")} for b in bodies]
    assert all(answer == answers[0] for answer in answers)  # the same answer for every copy
    assert bodies[0]["label"] == "opened" and not any(b["cached"] for b in bodies)
    assert _coalesced(client) == N - 1
    assert _flights_left(client) == 0  # nothing kept once answered
    cache = runtime_of(client).services.cache
    assert (cache is None) == (cache_settings.get("cache_size") == 0)  # the backend this case is for


class FirstDecodeGate:
    """The first decode waits for the test (the others run at once)."""

    def __init__(self) -> None:
        self.real = service_module.decode_image
        self.calls = 0
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            assert self.gate.wait(30), "the test never opened the gate"
        return self.real(*args, **kwargs)


class FirstLookupGate:
    """The in-process cache's lookup; the first one's answer (a miss) waits for the test."""

    def __init__(self, real: Callable[[str], Any]) -> None:
        self.real = real
        self.calls = 0
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, key: str) -> Any:
        self.calls += 1
        answer = self.real(key)
        if self.calls == 1:
            self.entered.set()
            assert self.gate.wait(30), "the test never opened the gate"
        return answer


def copy_decoded_while_its_twin_is_answered(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, monkeypatch: pytest.MonkeyPatch
) -> tuple[TestClient, WrappedClassifier, Any, Any]:
    """(client, model, the twin's answer, the late copy's answer): a copy misses the cache and is held
    before its decode while an identical copy decodes, runs the model and caches its answer.

    Held after its lookup, not in its decode: a twin that arrives while a copy decodes now waits for
    that decode (test_api_coalesce_races), so the twin could not be answered first."""
    monkeypatch.setattr(runtime_module, "default_threads", lambda: 2)  # the twin's trip runs meanwhile
    model = WrappedClassifier(onnx_classifier)
    client = make_client(classifier=model, store=True, warmup=False)
    local = runtime_of(client).service()._cache.local  # type: ignore[union-attr]
    assert local is not None
    lookup = FirstLookupGate(local.get_sync)
    monkeypatch.setattr(local, "get_sync", lookup)
    data = unique_png("opened")

    def post() -> Any:
        return client.post("/v1/classify", files={"file": ("a.png", data, "image/png")})

    try:
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(post)  # missed the cache, held before its decode
            assert lookup.entered.wait(10)
            fast = post()  # decodes, runs the model, caches the answer
            lookup.gate.set()
            late = slow.result(timeout=30)
    finally:
        lookup.gate.set()
    return client, model, fast, late


def test_a_copy_decoded_while_its_twin_was_answered_takes_the_cached_answer(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy whose cache lookup missed, and which then decoded while another copy's flight began
    and ended, found no flight to join and ran the model a second time."""
    _, model, fast, late = copy_decoded_while_its_twin_is_answered(make_client, onnx_classifier, monkeypatch)
    assert fast.status_code == 200 and fast.json()["cached"] is False
    assert late.status_code == 200 and late.json()["label"] == "opened"
    assert sum(model.calls) == 1  # was 2
    assert late.json()["cached"] is True


def test_copies_from_two_callers_are_not_shared_with_auth_on(
    make_client: AppFactory, gated: CountingGate
) -> None:
    """As with the cache (test_hunt_cache_per_principal): a copy answered with another caller's
    model call would tell the second caller that someone sent the same bytes at the same moment."""
    client = make_client(classifier=gated, store=True, auth_enabled=True)
    keys = runtime_of(client).services.keys
    assert keys is not None
    (_, alice), (_, bob) = keys.create_key("alice"), keys.create_key("bob")
    responses = _burst(client, unique_png("closed"), gated, N - 2, keys=(alice, bob))
    assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses]
    assert gated.rows == 2  # one call for each caller's copies
    assert _coalesced(client) == N - 2


def test_followers_of_a_failed_model_call_share_one_retry(
    make_client: AppFactory, onnx_classifier: OnnxClassifier
) -> None:
    gated = CountingGate(onnx_classifier, fail_first=True)
    try:
        client = make_client(classifier=gated)
        responses = _burst(client, unique_png("closed"), gated, N - 1)
    finally:
        gated.gate.set()
    statuses = sorted(r.status_code for r in responses)
    # The request whose call failed gets its 500; the others do not fail for its reason, nor does
    # each of them run the model again: they share one more call.
    assert statuses == [200] * (N - 1) + [500], [r.text for r in responses]
    assert {r.json()["label"] for r in responses if r.status_code == 200} == {"closed"}
    assert gated.rows == 2
    assert _flights_left(client) == 0


def _flights_left(client: TestClient, wait_s: float = 10.0) -> int:
    """The flights still in the table once the last one has had ``wait_s`` to end. A flight ends
    after its cache write (a Redis round trip on a loaded machine may still be running when the last
    copy has its answer), so an entry may outlive the answers briefly; one that stays is a leak."""
    flights = runtime_of(client).service()._flights
    deadline = time.monotonic() + wait_s
    while len(flights) and time.monotonic() < deadline:
        time.sleep(0.02)
    return len(flights)


def _in_app(client: TestClient, scenario: Callable[[], Any]) -> Any:
    assert client.portal is not None
    return client.portal.call(scenario)


class _Hangup:
    """An ASGI ``receive`` (body already read) that says the client left once ``leave`` is called."""

    def __init__(self) -> None:
        self.left = asyncio.Event()

    async def __call__(self) -> dict[str, Any]:
        await self.left.wait()
        return {"type": "http.disconnect"}


def test_a_leader_that_hangs_up_leaves_its_followers_their_answer(
    make_client: AppFactory, gated: CountingGate
) -> None:
    client = make_client(classifier=gated, cache_size=0)
    service = runtime_of(client).service()
    data = unique_png("background")

    async def scenario() -> list[Any]:
        ctx = RequestContext("r", "/v1/classify", "test")
        leader_hangs_up = _Hangup()
        leader = asyncio.create_task(service.classify(data, ctx, receive=leader_hangs_up))
        await asyncio.to_thread(gated.entered.wait, 10)
        followers = [asyncio.create_task(service.classify(data, ctx, receive=_Hangup())) for _ in range(3)]
        deadline = time.monotonic() + 5
        while len(service.batcher._pending) + _count(client) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        leader_hangs_up.left.set()
        with pytest.raises(ClientClosedRequest):
            await leader
        gated.gate.set()
        return list(await asyncio.gather(*followers))

    results = _in_app(client, scenario)
    assert [r.prediction.label for r in results] == ["background"] * 3
    assert gated.rows == 1  # the followers waited for the leader's call, which ran on for them
    assert len(service._flights) == 0


def test_a_flight_whose_clients_all_left_gives_its_queue_place_back(
    make_client: AppFactory, gated: CountingGate
) -> None:
    client = make_client(classifier=gated)
    service = runtime_of(client).service()
    busy, data = unique_png("opened"), unique_png("closed")

    async def scenario() -> None:
        ctx = RequestContext("r", "/v1/classify", "test")
        first = asyncio.create_task(service.classify(busy, ctx))  # holds the model at the gate
        await asyncio.to_thread(gated.entered.wait, 10)
        hangups = [_Hangup() for _ in range(3)]
        copies = [asyncio.create_task(service.classify(data, ctx, receive=h)) for h in hangups]
        deadline = time.monotonic() + 5
        while len(service.batcher._pending) < 1 or _count(client) < 2:
            assert time.monotonic() < deadline, "the copies never queued"
            await asyncio.sleep(0.01)
        for hangup in hangups:
            hangup.left.set()
        for copy in copies:
            with pytest.raises(ClientClosedRequest):
                await copy
        await asyncio.sleep(0.05)
        assert len(service.batcher._pending) == 0 and service.batcher.depth == 0
        assert len(service._flights) == 1  # the busy image's alone
        gated.gate.set()
        await first
        await asyncio.sleep(0.05)  # its cache write
        assert len(service._flights) == 0

    _in_app(client, scenario)
    assert gated.rows == 1  # the copies were never scored for nobody


def _count(client: TestClient) -> int:
    """capsight_coalesced_images_total, read in the app's loop without a request."""
    metric = getattr(runtime_of(client).metrics, "coalesced", None)
    return 0 if metric is None else int(metric._value.get())
