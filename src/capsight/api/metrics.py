"""Prometheus metrics of one app, in the app's own registry.

A per-app :class:`CollectorRegistry` (not the process-global default) lets tests build many apps in
one process and lets two apps in one process report separately. Updating a metric is a lock and an
add, cheap enough for the hot path.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.4, 0.6, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
CONTENT_TYPE = CONTENT_TYPE_LATEST
# The method label takes these values and "other": the HTTP server passes any token a client sends
# as the method, and every new label value would be a new series kept by Prometheus for ever.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "capsight_http_requests",
            "HTTP requests by route template, method and status code.",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "capsight_http_request_duration_seconds",
            "Time from request start to response end, by route template.",
            ["endpoint", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "capsight_predictions",
            "Images classified, by model and predicted label.",
            ["model", "label"],
            registry=r,
        )
        self.image_errors = Counter(
            "capsight_image_errors",
            "Images that could not be classified, by status code.",
            ["status"],
            registry=r,
        )
        self.batch_size = Histogram(
            "capsight_batch_size",
            "Images per model call (micro-batch size).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "capsight_batch_inference_duration_seconds",
            "Time spent in one model call.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "capsight_inference_queue_depth", "Images admitted and waiting for the model.", registry=r
        )
        self.cache_hits = Counter("capsight_cache_hits", "Result cache hits.", registry=r)
        self.cache_misses = Counter("capsight_cache_misses", "Result cache misses.", registry=r)
        self.model_ready = Gauge(
            "capsight_model_ready", "1 once the model is loaded and warmed up.", registry=r
        )
        self.inflight_body_bytes = Gauge(
            "capsight_inflight_body_bytes",
            "Request body bytes reserved in memory (CAPSIGHT_MAX_INFLIGHT_BODY_BYTES is the cap).",
            registry=r,
        )
        self.body_budget_waiting = Gauge(
            "capsight_body_budget_waiting", "Requests waiting for room to read their body.", registry=r
        )

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request; ``endpoint`` must already be a route template, not a raw path."""
        method = method if method in HTTP_METHODS else "other"
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint, method).observe(seconds)

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def track_queue_depth(self, depth: Callable[[], float]) -> None:
        self.queue_depth.set_function(depth)

    def render(self) -> bytes:
        return generate_latest(self.registry)
