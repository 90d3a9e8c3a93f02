"""/metrics as Prometheus reads it: parsed by prometheus_client's own text parser, checked against the
naming conventions, bounded label values and buckets that tell typical latencies apart."""

from __future__ import annotations

import math

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from api.helpers import jpeg
from capsight.api.metrics import Metrics


def _samples(text: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def test_the_scrape_parses_and_follows_prometheus_naming(client: TestClient) -> None:
    client.post("/v1/classify", files={"file": ("a.jpg", jpeg("opened"), "image/jpeg")})
    r = client.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain; version=")
    families = {family.name: family for family in text_string_to_metric_families(r.text)}
    capsight = {name: family for name, family in families.items() if name.startswith("capsight_")}
    assert capsight, "no capsight_* metric in the scrape"
    for name, family in capsight.items():
        assert family.documentation, f"{name} has no HELP text"
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples), name
        if family.type == "histogram" and "duration" in name:
            assert name.endswith("_seconds"), f"{name}: durations in base units"
    assert families["capsight_http_request_duration_seconds"].type == "histogram"
    assert families["capsight_http_requests"].type == "counter"


def test_a_20_ms_and_a_400_ms_request_land_in_different_buckets() -> None:
    metrics = Metrics()
    metrics.observe_request("/v1/classify", "POST", 200, 0.020)
    metrics.observe_request("/v1/classify", "POST", 200, 0.400)
    buckets = {
        float(s.labels["le"]): s.value
        for s in _samples(metrics.render().decode())
        if s.name == "capsight_http_request_duration_seconds_bucket"
    }
    below_20ms = max(b for b in buckets if b < 0.020)
    at_20ms = min(b for b in buckets if b >= 0.020)
    at_400ms = min(b for b in buckets if b >= 0.400)
    assert (buckets[below_20ms], buckets[at_20ms]) == (0, 1)
    assert at_20ms < at_400ms
    assert buckets[at_400ms] == 2
    assert buckets[max(b for b in buckets if b < at_400ms)] == 1


def test_label_values_stay_bounded_whatever_clients_send(client: TestClient) -> None:
    """Made-up methods and paths, keys and file names must never become label values: each new value
    is a new series in Prometheus, for ever."""
    for method in ("FOO", "PROPFIND", "X1", "get"):
        client.request(method, "/v1/classify")
    for path in ("/nope", "/v1/models/unknown-model/extra", "/v1/jobs/123/xyz"):
        client.get(path)
    client.post(
        "/v1/classify",
        files={"file": ("secret-holiday.jpg", jpeg("opened"), "image/jpeg")},
        headers={"X-API-Key": "sk-secret-key", "X-Request-ID": "req-abc"},
    )
    text = client.get("/metrics").text
    for s in _samples(text):
        if not s.name.startswith("capsight_http_"):
            continue
        assert s.labels["method"] in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
        assert s.labels["endpoint"] == "unmatched" or s.labels["endpoint"].startswith("/"), s.labels
    for secret in ("FOO", "PROPFIND", "X1", "/nope", "unknown-model", "secret", "req-abc"):
        assert secret not in text
    other = [
        s.value
        for s in _samples(text)
        if s.name == "capsight_http_requests_total" and s.labels["method"] == "other"
    ]
    assert sum(other) == 3  # FOO, PROPFIND, X1; a lower-case "get" is not GET either


def _quantile(buckets: dict[float, float], q: float) -> float:
    """PromQL's histogram_quantile over one scrape's cumulative buckets, ``+Inf`` included: linear
    within a bucket, and the largest finite bound when the rank falls in ``+Inf``."""
    bounds = sorted(buckets)
    rank = q * buckets[math.inf]
    lower, below = 0.0, 0.0
    for bound in bounds:
        if buckets[bound] >= rank:
            if bound == math.inf:
                return lower
            return lower + (bound - lower) * (rank - below) / (buckets[bound] - below)
        lower, below = bound, buckets[bound]
    raise AssertionError("unreachable")


def _buckets(metrics: Metrics, name: str) -> dict[float, float]:
    return {float(s.labels["le"]): s.value for s in _samples(metrics.render().decode()) if s.name == name}


def test_the_dashboards_p95_of_a_model_call_reads_what_it_took() -> None:
    """The bundled int8 model takes 1.7-3.3 ms an image (README, Performance) and a cache hit answers
    in 1-2 ms: with 5 ms as the first bucket every one of them landed in it, and the dashboard's p95
    read 4.75 ms whatever they took (a model twice as slow looked the same)."""
    for took in (0.0017, 0.0033):
        metrics = Metrics()
        for _ in range(100):
            metrics.observe_batch(1, took)
            metrics.observe_request("/classify", "POST", 200, took)
        for name in (
            "capsight_batch_inference_duration_seconds_bucket",
            "capsight_http_request_duration_seconds_bucket",
        ):
            p95 = _quantile(_buckets(metrics, name), 0.95)
            assert took / 2 <= p95 <= took * 1.5, (name, took, p95)


def test_the_p95_of_slow_requests_reads_what_they_took_not_the_last_bucket() -> None:
    """Requests of 10 s and more are this service's own: an upload held 10 s for memory, then 503; a
    stalled body closed 408 after 30 s; a slow phone upload within the 300 s body timeout. The last
    bucket was 10 s, so the dashboard's p95 read 10 s for each of them."""
    for took in (10.5, 30.0, 100.0, 290.0):
        metrics = Metrics()
        for _ in range(100):
            metrics.observe_request("/classify", "POST", 200, took)
        p95 = _quantile(_buckets(metrics, "capsight_http_request_duration_seconds_bucket"), 0.95)
        assert took / 2 <= p95 <= took * 1.5, (took, p95)
