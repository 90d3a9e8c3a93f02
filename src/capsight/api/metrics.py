"""Prometheus metrics of one app, in the app's own registry.

A per-app :class:`CollectorRegistry` (not the process-global default) lets tests build many apps in
one process and lets two apps in one process report separately. Updating a metric is a lock and an
add, cheap enough for the hot path.

``capsight serve --workers N`` runs N processes behind one socket, and a scrape reaches whichever
worker the kernel hands the connection to: with per-process counters each scrape saw one worker's
share. So the main process sets ``PROMETHEUS_MULTIPROC_DIR`` (a private folder of its own) before it
starts them, prometheus_client then keeps every value in a per-process file there (an update is
still a lock and a write to memory, an mmap), and :meth:`Metrics.render` adds up the files of all
workers, the ones that exited included, so totals never go back on a restart (the main process folds
an exited worker's files into a few, :mod:`capsight.api.metrics_folder`). Gauges read from a
function at scrape time (queue depth, body budget) are copied into those files every
:data:`GAUGE_SAMPLE_SECONDS` instead, since a scrape answered by one worker cannot call another's.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from capsight.api import metrics_folder

# prometheus_client chooses where values live when it is imported, by this variable: set, in files of
# this folder shared by the worker processes (read by render); unset, in this process's memory.
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
# How often a worker copies its function-read gauges into its file in multiprocess mode: how stale
# another worker's queue depth may be in a scrape (the worker answering it reads its own afresh).
GAUGE_SAMPLE_SECONDS = 1.0

# From half a millisecond: a model call takes 1.7-3.3 ms an image and a cache hit is answered in 1-2
# ms. With 5 ms as the first bucket all of them landed in it, and a quantile read 2.5-4.95 ms
# whatever they took (the dashboard's p95 model call said 4.75 ms for a 1.7 ms and a 3.3 ms one).
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075,
    0.1, 0.15, 0.25, 0.4, 0.6, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# A request may also last from 10 s to minutes: an upload held 10 s for memory and then refused, a
# stalled body closed after 30 s, a slow upload within the 300 s body timeout. With 10 s as the last
# bucket a quantile of any of them read 10 s. A model call never lasts that long.
HTTP_LATENCY_BUCKETS = (*LATENCY_BUCKETS, 15.0, 30.0, 60.0, 120.0, 300.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
CONTENT_TYPE = CONTENT_TYPE_LATEST
# The method label takes these values and "other": the HTTP server passes any token a client sends
# as the method, and every new label value would be a new series kept by Prometheus for ever.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Breaker(Protocol):
    """What the fallback gauge reads of a Redis backend's breaker (``store.redis_support``, which
    imports redis: only deployments with Redis load it)."""

    @property
    def down(self) -> bool: ...


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
            buckets=HTTP_LATENCY_BUCKETS,
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
        # multiprocess_mode (ignored in one process) says how the workers' values add up; "live":
        # a worker that exited leaves the sum (the main process removes its file: metrics_folder).
        self.queue_depth = Gauge(
            "capsight_inference_queue_depth",
            "Images admitted and waiting for the model.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.cache_hits = Counter("capsight_cache_hits", "Result cache hits.", registry=r)
        self.cache_misses = Counter(
            "capsight_cache_misses",
            "Result cache misses: images decoded and classified by a model call of their own (a copy "
            "that waited for an identical image's call counts as coalesced instead).",
            registry=r,
        )
        self.coalesced = Counter(
            "capsight_coalesced_images",
            "Images answered by the model call of an identical image already in flight in this process "
            "(single flight) instead of one of their own.",
            registry=r,
        )
        # With several workers: 1 only when every running worker has its model (a worker whose model
        # failed answers 503 to its share of the requests; a worker starting on SIGHUP dips it to 0).
        self.model_ready = Gauge(
            "capsight_model_ready",
            "1 once the model is loaded and warmed up.",
            registry=r,
            multiprocess_mode="livemin",
        )
        # Which version a process serves: after promote and a reload nothing else in /metrics
        # changed (predictions count by model name), so a rollout or rollback could not be seen.
        # With several workers, 1 where any running worker serves it (both, mid-SIGHUP restart).
        self.model_info = Gauge(
            "capsight_model_info",
            "1 for the model name and version this process serves; 0 for those it served before a reload.",
            ["model", "version"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self._served_models: set[tuple[str, str]] = set()
        self.inflight_body_bytes = Gauge(
            "capsight_inflight_body_bytes",
            "Request body bytes reserved in memory (CAPSIGHT_MAX_INFLIGHT_BODY_BYTES caps each process).",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.body_budget_waiting = Gauge(
            "capsight_body_budget_waiting",
            "Requests waiting for room to read their body.",
            registry=r,
            multiprocess_mode="livesum",
        )
        # Readiness stays green through a request log outage (routes/health.py): alerts watch these.
        self.request_log_degraded = Gauge(
            "capsight_request_log_degraded",
            "1 while the request log cannot write: its database or image store failed (records spool); "
            "with several workers, how many of them.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.request_log_spooled = Gauge(
            "capsight_request_log_spooled",
            "Request log records waiting in the spool for the database or image store.",
            registry=r,
            multiprocess_mode="livesum",
        )
        # Alerts watch this too: while it is 1 each replica limits on its own (N replicas, up to N
        # times the limit) and caches apart. Labelled by part, only the two below.
        self.redis_fallback = Gauge(
            "capsight_redis_fallback",
            "1 while this part (cache, rate_limiter) runs in-process because Redis failed; with several "
            "workers, how many of them.",
            ["part"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self._tracked: list[tuple[Gauge, Callable[[], float]]] = []
        self._sampler: threading.Thread | None = None

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request; ``endpoint`` must already be a route template, not a raw path."""
        method = method if method in HTTP_METHODS else "other"
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint, method).observe(seconds)

    def serving(self, name: str, version: str) -> None:
        """``capsight_model_info``: 1 for the model now served, 0 for those served before."""
        for earlier in self._served_models - {(name, version)}:
            self.model_info.labels(*earlier).set(0)
        self._served_models.add((name, version))
        self.model_info.labels(name, version).set(1)

    def image_refused(self, status: int) -> None:
        """Count one image that got no answer but ``status`` (capsight_image_errors_total)."""
        self.image_errors.labels(str(status)).inc()

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def track_queue_depth(self, depth: Callable[[], float]) -> None:
        self.track(self.queue_depth, depth)

    def track_redis_fallback(self, part: str, breaker: Breaker) -> None:
        """Report whether ``breaker`` (a Redis backend's) is open as ``capsight_redis_fallback{part=...}``."""
        self.track(self.redis_fallback.labels(part), lambda: float(breaker.down))

    def track(self, gauge: Gauge, value: Callable[[], float]) -> None:
        """Report ``value()`` as ``gauge``: read at each scrape in one process; with several workers
        also copied into this worker's file every GAUGE_SAMPLE_SECONDS by a daemon thread."""
        if MULTIPROC_DIR is None:
            gauge.set_function(value)
            return
        self._tracked.append((gauge, value))
        gauge.set(value())
        if self._sampler is None:
            self._sampler = threading.Thread(
                target=self._sample_forever, name="capsight-metrics-sampler", daemon=True
            )
            self._sampler.start()

    def _sample(self) -> None:
        for gauge, value in list(self._tracked):
            gauge.set(value())

    def _sample_forever(self) -> None:
        while True:
            time.sleep(GAUGE_SAMPLE_SECONDS)
            self._sample()

    def render(self) -> bytes:
        if MULTIPROC_DIR is None:
            return generate_latest(self.registry)
        self._sample()  # this worker's gauges as of now; the others' as of their last sample
        registry = CollectorRegistry()
        metrics_folder.FolderCollector(registry, path=MULTIPROC_DIR)
        with metrics_folder.reading(Path(MULTIPROC_DIR)):  # no exited worker's files folded meanwhile
            return generate_latest(registry)
