"""Copies of one image whose paths overlap at an awkward moment still share one decode and one model
call (single flight, api/coalesce.py): copies decoding at once in two decode threads, and, with the
Redis cache, a copy whose lookup was still out when its twin's flight ended.

Each race is staged, not waited for: the first decode or the first Redis lookup is held until the
test has the other copies where it wants them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from test_api_coalesce import FirstDecodeGate, _count, _in_app

import capsight.api.runtime as runtime_module
import capsight.api.service as service_module
from api.helpers import AppFactory, WrappedClassifier, runtime_of, unique_png
from capsight.api.results import RequestContext
from capsight.inference.classifier import OnnxClassifier
from servers import RedisServer

COPIES = 6


def _ctx(i: int) -> RequestContext:
    return RequestContext(f"r{i}", "/v1/classify", "test")


def _two_decode_threads(
    make_client: AppFactory,
    onnx_classifier: OnnxClassifier,
    monkeypatch: pytest.MonkeyPatch,
    cache_settings: dict[str, Any],
) -> tuple[FirstDecodeGate, WrappedClassifier, Any, Any]:
    """(the first decode's gate, the counted model, the client, its service) with two decode threads:
    the first decode is held while the copies' trips run in the other one."""
    decode = FirstDecodeGate()
    monkeypatch.setattr(service_module, "decode_image", decode)
    monkeypatch.setattr(runtime_module, "default_threads", lambda: 2)
    model = WrappedClassifier(onnx_classifier)
    client = make_client(classifier=model, store=True, warmup=False, **cache_settings)
    return decode, model, client, runtime_of(client).service()


@pytest.mark.parametrize("cache_settings", [{}, {"cache_size": 0}], ids=["in-process", "off"])
def test_copies_decoding_at_once_share_one_decode(
    make_client: AppFactory,
    onnx_classifier: OnnxClassifier,
    monkeypatch: pytest.MonkeyPatch,
    cache_settings: dict[str, Any],
) -> None:
    """The first copy is held in its decode; the others pass through the second decode thread while
    it is held. Each of them decoded the image again (the flight that shares the work only began once
    a decode had finished): 2 decodes, and on a slow PNG the copies took a thread each."""
    gated = _two_decode_threads(make_client, onnx_classifier, monkeypatch, cache_settings)
    decode, model, client, service = gated
    trips = 0  # pool trips (hash, lookup, decode or not) that came back to the event loop
    real_trip = service._hash_lookup_prepare

    def counted_trip(*args: Any) -> Any:
        nonlocal trips
        try:
            return real_trip(*args)
        finally:
            trips += 1

    monkeypatch.setattr(service, "_hash_lookup_prepare", counted_trip)
    data = unique_png("opened")

    async def scenario() -> list[Any]:
        first = asyncio.create_task(service.classify(data, _ctx(0)))
        await asyncio.to_thread(decode.entered.wait, 10)
        others = [asyncio.create_task(service.classify(data, _ctx(i))) for i in range(1, COPIES)]
        deadline = time.monotonic() + 10
        while trips < COPIES - 1 and time.monotonic() < deadline:  # all but the held one came back
            await asyncio.sleep(0.01)
        decode.gate.set()
        return list(await asyncio.gather(first, *others))

    try:
        results = _in_app(client, scenario)
    finally:
        decode.gate.set()
    assert [r.prediction.label for r in results] == ["opened"] * COPIES
    assert decode.calls == 1  # was 2: the copies in the other thread decoded it again
    assert sum(model.calls) == 1
    assert _count(client) == COPIES - 1
    assert len(service._flights) == 0


class HeldLookup:
    """The cache backend's ``get``; the first lookup is sent at once, and its answer is held until
    the test releases it (a slow round trip)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0
        self.sent = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, key: str) -> Any:
        self.calls += 1
        first = self.calls == 1
        answer = await self.real(key)
        if first:
            self.sent.set()
            await self.release.wait()
        return answer


@pytest.mark.redis
def test_a_copy_whose_redis_lookup_was_out_when_its_twin_finished_runs_no_second_call(
    make_client: AppFactory,
    onnx_classifier: OnnxClassifier,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Copy 2's lookup missed (sent before copy 1's answer was stored) and came back after copy 1's
    flight had ended and left the table: nothing to join, so it ran the model a second time."""
    model = WrappedClassifier(onnx_classifier)
    client = make_client(classifier=model, store=True, redis_url=redis_server.url, warmup=False)
    service = runtime_of(client).service()
    cache = service._cache
    assert cache is not None and cache.local is None  # the Redis path: lookups from the event loop
    data = unique_png("closed")

    async def scenario() -> list[Any]:
        held = HeldLookup(cache.cache.get)
        monkeypatch.setattr(cache.cache, "get", held)
        second = asyncio.create_task(service.classify(data, _ctx(2)))  # its lookup is held
        await asyncio.wait_for(held.sent.wait(), 10)
        first = await service.classify(data, _ctx(1))  # misses, runs the model
        await service.drain()  # its cache write; its flight has ended
        assert len(service._flights) == 0
        held.release.set()
        return [first, await second]

    first, second = _in_app(client, scenario)
    assert first.prediction.label == second.prediction.label == "closed"
    assert sum(model.calls) == 1  # was 2
    assert not second.cached and _count(client) == 1  # it shared the call, as a coalesced copy
    assert len(service._flights) == 0


@pytest.mark.parametrize("pools", [True, False], ids=["decode-pools", "no-pools"])
def test_a_request_cancelled_in_its_decode_leaves_no_claim_behind(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, monkeypatch: pytest.MonkeyPatch, pools: bool
) -> None:
    """The decode it claimed for its copies finishes in its thread after the request is gone; the
    claim (and the decoded image it holds) must not stay in the table for good. Also for a service
    built without decode pools (its trips on the loop's default executor)."""
    decode = FirstDecodeGate()
    monkeypatch.setattr(service_module, "decode_image", decode)
    model = WrappedClassifier(onnx_classifier)
    client = make_client(classifier=model, store=True, warmup=False)
    service = runtime_of(client).service()
    if not pools:
        monkeypatch.setattr(service, "_executor", None)
        monkeypatch.setattr(service, "_full_size_executor", None)
    data = unique_png("opened")

    async def scenario() -> int:
        request = asyncio.create_task(service.classify(data, _ctx(0)))
        await asyncio.to_thread(decode.entered.wait, 10)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        decode.gate.set()
        deadline = time.monotonic() + 10
        while service._flights._decodes and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return len(service._flights._decodes)

    try:
        claims = _in_app(client, scenario)
    finally:
        decode.gate.set()
    assert claims == 0
    assert decode.calls == 1 and model.calls == []  # decoded once, never scored for nobody


class HeldSharedImage:
    """``service._shared_image``: a copy waiting for its twin's decode is held after that decode
    (a loaded event loop that resumes it late) until the test releases it."""

    def __init__(self) -> None:
        self.real = service_module._shared_image
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, shared: Any) -> Any:
        self.entered.set()
        outcome = await self.real(shared)
        await self.release.wait()
        return outcome


@pytest.mark.parametrize("cache_settings", [{}, {"cache_size": 0}], ids=["in-process", "off"])
def test_a_copy_resumed_after_its_twins_flight_ended_shares_that_flight(
    make_client: AppFactory,
    onnx_classifier: OnnxClassifier,
    monkeypatch: pytest.MonkeyPatch,
    cache_settings: dict[str, Any],
) -> None:
    """Copy 2 came while copy 1 decoded and waited for that decode; the loop resumed it only after
    copy 1's flight had ended. With the in-process cache it was then counted a cache hit (CI: 4
    coalesced copies of 5); with no cache it found no flight and ran the model a second time."""
    gated = _two_decode_threads(make_client, onnx_classifier, monkeypatch, cache_settings)
    decode, model, client, service = gated
    data = unique_png("opened")

    async def scenario() -> list[Any]:
        held = HeldSharedImage()
        monkeypatch.setattr(service_module, "_shared_image", held)
        first = asyncio.create_task(service.classify(data, _ctx(1)))
        await asyncio.to_thread(decode.entered.wait, 10)
        second = asyncio.create_task(service.classify(data, _ctx(2)))
        await asyncio.wait_for(held.entered.wait(), 10)  # copy 2 waits for copy 1's decode
        decode.gate.set()
        answered = await first
        await service.drain()  # its cache write: its flight has ended
        assert len(service._flights) == 0
        held.release.set()
        return [answered, await second]

    try:
        first, second = _in_app(client, scenario)
    finally:
        decode.gate.set()
    assert first.prediction.label == second.prediction.label == "opened"
    assert decode.calls == 1
    assert sum(model.calls) == 1  # was 2 with no cache
    assert not second.cached and _count(client) == 1  # was a cache hit with the in-process cache
    assert len(service._flights) == 0
    assert not service._flights._lookups and not service._flights._finished  # nothing kept


def test_a_copy_cancelled_while_it_waits_for_its_twins_decode_leaves_nothing_behind(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy that waits for another's decode is remembered by the flight table until it is back
    (see the test above); a copy cancelled meanwhile must not stay remembered."""
    decode, model, client, service = _two_decode_threads(make_client, onnx_classifier, monkeypatch, {})
    data = unique_png("closed")

    async def scenario() -> Any:
        held = HeldSharedImage()
        monkeypatch.setattr(service_module, "_shared_image", held)
        first = asyncio.create_task(service.classify(data, _ctx(1)))
        await asyncio.to_thread(decode.entered.wait, 10)
        second = asyncio.create_task(service.classify(data, _ctx(2)))
        await asyncio.wait_for(held.entered.wait(), 10)
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        decode.gate.set()
        answered = await first
        await service.drain()
        return answered

    try:
        first = _in_app(client, scenario)
    finally:
        decode.gate.set()
    assert first.prediction.label == "closed" and sum(model.calls) == 1
    assert len(service._flights) == 0
    assert not service._flights._lookups and not service._flights._finished


class HeldCopyClaim:
    """``Flights.claim_decode``: a copy given its twin's decode (counted as out from then on) is held
    in its decode thread, before its trip returns, until the test releases it."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, key: str) -> Any:
        shared, mine = self.real(key)
        if shared is not None and not mine:
            self.entered.set()
            assert self.release.wait(30), "the test never released the copy"
        return shared, mine


@pytest.mark.parametrize("pools", [True, False], ids=["decode-pools", "no-pools"])
def test_a_copy_cancelled_in_its_trip_after_its_claim_leaves_nothing_behind(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, monkeypatch: pytest.MonkeyPatch, pools: bool
) -> None:
    """The copy's trip counted it as waiting for its twin's decode, and the request was cancelled
    before the trip came back: the count must still be taken back (else the key's next flight, and
    its answer, are kept for it for ever). A service built without decode pools (its trips on the
    loop's default executor) dropped the trip's result, and the count with it."""
    decode, model, client, service = _two_decode_threads(make_client, onnx_classifier, monkeypatch, {})
    if not pools:
        monkeypatch.setattr(service, "_executor", None)
        monkeypatch.setattr(service, "_full_size_executor", None)
    held = HeldCopyClaim(service._flights.claim_decode)
    monkeypatch.setattr(service._flights, "claim_decode", held)
    data = unique_png("opened")

    async def scenario() -> Any:
        first = asyncio.create_task(service.classify(data, _ctx(1)))
        await asyncio.to_thread(decode.entered.wait, 10)
        second = asyncio.create_task(service.classify(data, _ctx(2)))
        assert await asyncio.to_thread(held.entered.wait, 10)
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        held.release.set()
        decode.gate.set()
        answered = await first
        await service.drain()
        deadline = time.monotonic() + 10
        while service._flights._lookups and time.monotonic() < deadline:  # the copy's thread ends
            await asyncio.sleep(0.01)
        return answered

    try:
        first = _in_app(client, scenario)
    finally:
        held.release.set()
        decode.gate.set()
    assert first.prediction.label == "opened" and sum(model.calls) == 1
    assert len(service._flights) == 0
    assert not service._flights._lookups and not service._flights._finished
