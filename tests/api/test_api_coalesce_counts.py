"""The cache counters with copies of one image in flight (api/coalesce.py): each image looked up
counts once, a copy that waited for an identical image's model call as coalesced, not also as a cache
miss, so that misses are the model calls the cache did not save (the dashboard's cache hit ratio).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_api_coalesce import (
    CountingGate,
    N,
    _burst,
    _cache_settings,
    _until,
    copy_decoded_while_its_twin_is_answered,
)

from api.helpers import AppFactory, metric_sample, unique_png
from capsight.inference.classifier import OnnxClassifier


@pytest.fixture(params=["in-process", "off", pytest.param("redis", marks=pytest.mark.redis)])
def cache_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _cache_settings(request)


def _counts(client: TestClient) -> tuple[float, float, float]:
    text = client.get("/metrics").text

    def sample(name: str) -> float:
        return metric_sample(text, name) if name in text else 0.0

    return (
        sample("capsight_cache_hits_total"),
        sample("capsight_cache_misses_total"),
        sample("capsight_coalesced_images_total"),
    )


@pytest.mark.parametrize(
    "cache_settings", ["in-process", "off", pytest.param("redis", marks=pytest.mark.redis)], indirect=True
)
def test_sixteen_copies_count_one_miss_and_fifteen_coalesced(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, cache_settings: dict[str, Any]
) -> None:
    """Each copy counted a cache miss and the 15 that waited counted as coalesced too: 16 misses
    for one model call, so misses no longer told the model calls the cache did not save."""
    model = CountingGate(onnx_classifier)
    try:
        client = make_client(classifier=model, **cache_settings)
        data = unique_png("opened")
        responses = _burst(client, data, model, N - 1)
        later = client.post("/v1/classify", files={"file": ("a.png", data, "image/png")})
    finally:
        model.gate.set()
    assert [r.status_code for r in [*responses, later]] == [200] * (N + 1)
    if cache_settings.get("cache_size") == 0:  # no cache: nothing looked up, a copy still shared
        assert _counts(client) == (0, 0, N - 1)
        return
    assert model.rows == 1
    _until(lambda: _counts(client)[0] == 1, 2)
    assert _counts(client) == (1, 1, N - 1)  # hits, misses (model calls), coalesced


def test_a_copy_answered_by_the_second_lookup_counts_a_hit_not_a_miss(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy whose first lookup missed while its twin's whole flight ran, then found the twin's
    answer in the cache, counted a miss (and no hit), as if it had run the model."""
    client, model, fast, late = copy_decoded_while_its_twin_is_answered(
        make_client, onnx_classifier, monkeypatch
    )
    assert fast.json()["cached"] is False and late.json()["cached"] is True
    assert sum(model.calls) == 1
    assert _counts(client) == (1, 1, 0)  # hits, misses (model calls), coalesced
