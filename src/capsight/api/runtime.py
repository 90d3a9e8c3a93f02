"""The serving runtime of one app: the model's lifecycle from loading to shutdown.

The model loads and warms up in the background after the server starts listening. Liveness is
true at once and readiness flips only when the first real request would be fast: session created,
ONNX Runtime's buffers allocated for the batch shapes, Pillow's decoders imported. Orchestrators
(Kubernetes, a load balancer) then route traffic to a replica exactly when it can take it.

Batch jobs reuse the same machinery: ``async with ServingRuntime(settings, services) as rt:`` then
``await rt.service().classify(...)``.

Reloading the model while serving (coalesced reloads, SIGHUP, releasing the replaced model) lives in
``reload.py``, whose :class:`~capsight.api.reload.ModelReloads` mixin this runtime inherits.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

from starlette.requests import Request

from capsight.api.batch_sizes import BatchSizes
from capsight.api.failure_log import FailureLog
from capsight.api.metrics import Metrics
from capsight.api.reload import ModelReloads
from capsight.api.service import ClassificationService
from capsight.errors import CapsightError, ModelNotReady
from capsight.imaging.budget import set_decode_pixel_budget
from capsight.inference.batcher import MicroBatcher
from capsight.inference.classifier import Classifier
from capsight.inference.cpu import default_threads
from capsight.inference.metadata import ModelMetadata
from capsight.settings import Settings
from capsight.store.services import Services

logger = logging.getLogger(__name__)
LOAD_FAILED_GENERIC = "The model failed to load; the server log has the cause."


class ServingRuntime(ModelReloads):
    def __init__(
        self,
        settings: Settings,
        services: Services,
        *,
        metrics: Metrics | None = None,
        classifier: Classifier | None = None,
        owns_services: bool = False,
    ) -> None:
        self.settings = settings
        self.services = services
        self.metrics = metrics or Metrics()
        self._classifier = classifier
        self._owns_services = owns_services
        self._service: ClassificationService | None = None
        self._batcher: MicroBatcher | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._full_size_executor: ThreadPoolExecutor | None = None
        self._load_task: asyncio.Task[None] | None = None
        self.load_error: str | None = None
        self.ready_seconds: float | None = None
        self._reload_lock = asyncio.Lock()
        # The reload that runs next, shared by everyone asking for one until it starts (see reload).
        self._next_reload: asyncio.Task[tuple[ModelMetadata | None, ModelMetadata]] | None = None
        self._retiring: list[asyncio.Task[None]] = []
        # Batchers replaced by a reload, still finishing the requests that took them: stop() stops
        # them too, as it cancels the grace period they wait out.
        self._replaced: list[MicroBatcher] = []
        self._stopping = False
        self.limiter_failures = FailureLog()  # the rate limiter's, logged once a minute (security)
        self.batch_sizes = BatchSizes()  # answered batches' sizes, for feedback before they are logged
        self.metrics.track_queue_depth(lambda: self._batcher.depth if self._batcher else 0)
        self.metrics.track(self.metrics.request_log_degraded, lambda: self._request_log_gauges()[0])
        self.metrics.track(self.metrics.request_log_spooled, lambda: self._request_log_gauges()[1])
        for part, backend in (("cache", services.cache), ("rate_limiter", services.rate_limiter)):
            breaker = getattr(backend, "breaker", None)  # only the Redis ones fall back
            if breaker is not None:
                self.metrics.track_redis_fallback(part, breaker)

    # -- state -----------------------------------------------------------------------------------

    def _request_log_gauges(self) -> tuple[float, float]:
        """(degraded, spooled) of the request log; degraded only once a try failed (not while it
        starts), and (0, 0) without one (no request log, or a recorder without stats)."""
        stats_of = getattr(self.services.recorder, "stats", None)
        if stats_of is None:
            return 0.0, 0.0
        stats = stats_of()
        return float(stats.degraded and stats.error is not None), float(stats.spooled)

    @property
    def ready(self) -> bool:
        return self._service is not None

    def service(self) -> ClassificationService:
        if self._service is None:
            if self.load_error and self.settings.auth_enabled:
                # The cause names server paths: callers of a server that checks keys get a generic
                # answer (health and metadata routes answer anyone); the log has the cause, and so
                # has the answer to a request carrying an admin key (see api/errors.py).
                raise ModelNotReady(
                    LOAD_FAILED_GENERIC,
                    retry_after=30,
                    admin_message=f"The model failed to load: {self.load_error}",
                )
            if self.load_error:
                raise ModelNotReady(f"The model failed to load: {self.load_error}", retry_after=30)
            raise ModelNotReady()
        return self._service

    @property
    def metadata(self) -> ModelMetadata:
        return self.service().metadata

    @property
    def batcher(self) -> MicroBatcher | None:
        return self._batcher

    @property
    def classifier(self) -> Classifier | None:
        """The loaded model once ready, else None: batch jobs call it directly, beside the batcher."""
        return self._classifier if self._service is not None else None

    @property
    def busy(self) -> bool:
        """Interactive requests are admitted and waiting for the model (jobs yield to them)."""
        return self._batcher is not None and self._batcher.depth > 0

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin loading in the background and return at once."""
        if self._load_task is None:
            # Process-wide, like the memory it protects (request decodes and job workers share it).
            set_decode_pixel_budget(self.settings.decode_max_inflight_pixels)
            self._executor = ThreadPoolExecutor(
                max_workers=default_threads(), thread_name_prefix="capsight-decode"
            )
            # Formats decoded at full size (PNG, WebP, HEIF...) queue apart from the JPEGs: see
            # ClassificationService.
            self._full_size_executor = ThreadPoolExecutor(
                max_workers=default_threads(), thread_name_prefix="capsight-decode-full"
            )
            self._load_task = asyncio.get_running_loop().create_task(self._load())

    async def wait_ready(self, timeout: float | None = None) -> None:
        await self.start()
        assert self._load_task is not None
        await asyncio.wait_for(asyncio.shield(self._load_task), timeout)
        self.service()  # raises ModelNotReady with the load error, if any

    async def _load_from_folder(self) -> Classifier:
        from capsight.inference.classifier import OnnxClassifier

        settings = self.settings
        classifier: Classifier = await asyncio.to_thread(
            OnnxClassifier,
            settings.model_dir,
            intra_op_threads=serving_intra_op_threads(settings.intra_op_threads),
        )
        if settings.warmup:
            await asyncio.to_thread(_warm_up, classifier)
        return classifier

    def _serve(self, classifier: Classifier) -> None:
        """Switch requests to ``classifier`` with its own batcher (the previous one is retired by the
        caller: requests already holding the previous service finish on it)."""
        settings = self.settings
        batcher = MicroBatcher(
            classifier.predict,
            max_batch_size=settings.batch_max_size,
            max_wait_ms=settings.batch_max_wait_ms,
            queue_max=settings.queue_max,
            on_batch=self.metrics.observe_batch,
        )
        batcher.start()
        service = ClassificationService(
            classifier=classifier,
            batcher=batcher,
            settings=settings,
            services=self.services,
            metrics=self.metrics,
            executor=self._executor,
            full_size_executor=self._full_size_executor,
        )
        self._classifier, self._batcher, self._service = classifier, batcher, service
        self.metrics.serving(classifier.metadata.name, classifier.metadata.version)

    async def _load(self) -> None:
        started = time.perf_counter()
        settings = self.settings
        try:
            classifier = self._classifier
            if classifier is None:
                classifier = await self._load_from_folder()
            elif settings.warmup:
                await asyncio.to_thread(_warm_up, classifier)
            self._serve(classifier)
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, CapsightError):  # a folder that is no usable model: its sentence says why
                logger.error("the model failed to load from %s: %s", settings.model_dir, self.load_error)
            else:  # a bug: its traceback is the only clue
                logger.exception("the model failed to load from %s", settings.model_dir)
            return
        self.ready_seconds = time.perf_counter() - started
        self.services.start()  # the request log's thread: its first connection waited for the model
        self.metrics.model_ready.set(1)
        meta = classifier.metadata
        logger.info("model %s %s ready in %.2f s", meta.name, meta.version, self.ready_seconds)

    async def stop(self) -> None:
        self._stopping = True
        for task in self._retiring:
            task.cancel()
        self.metrics.model_ready.set(0)
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._load_task
        service, self._service = self._service, None
        if service is not None:
            await service.drain()
        if self._batcher is not None:
            await self._batcher.stop()
        replaced, self._replaced = self._replaced, []
        for batcher in replaced:
            await batcher.stop()
        for executor in (self._executor, self._full_size_executor):
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
        if self._owns_services:
            await asyncio.to_thread(self.services.close)

    async def __aenter__(self) -> ServingRuntime:
        await self.wait_ready()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def serving_intra_op_threads(configured: int, cores: int | None = None) -> int:
    """ONNX Runtime intra-op threads for the server: ``configured`` when set, else automatic.

    Automatic is one thread on a machine with at most 2 cores, one per core above that. Why: under
    load the decode pool already keeps every core busy (JPEG decoding is ~70% of a request's CPU),
    so a second inference thread only competes with decoding and adds synchronisation; one thread
    with the micro-batcher's large batches is the cheapest per image. Measured on 2 cores, 32
    clients, MobileNetV2 160 px FP32: 98 -> 124 req/s; INT8: see docs/bench.md. An idle server
    pays for it with ~0.2-0.8 ms more latency on a lone request.
    """
    if configured > 0:
        return configured
    cores = cores if cores is not None else default_threads()
    return 1 if cores <= 2 else cores


def _warm_up(classifier: Classifier) -> None:
    """Pay the one-off costs the first request would pay: ONNX Runtime's first run (thread pool,
    memory plan for one image) and the decoders' plugin imports.

    Only batch size 1 is warmed. Every other batch shape is planned on its first use anyway, and
    warming the largest one here would run a full batch (0.3-1 s on two cores for a 224 px CNN)
    before readiness to save about 0.1 s, once, on the first full batch.
    """
    warmup = getattr(classifier, "warmup", None)
    if callable(warmup):
        warmup(1)
    from PIL import Image

    from capsight.imaging.decode import decode_image
    from capsight.imaging.preprocess import preprocess

    spec = classifier.metadata.preprocessing
    for fmt in ("JPEG", "PNG"):
        buf = io.BytesIO()
        Image.new("RGB", (spec.decode_hint() * 2, spec.decode_hint() * 2), (127, 127, 127)).save(buf, fmt)
        preprocess(decode_image(buf.getvalue(), min_side=spec.decode_hint()).image, spec)


def get_runtime(request: Request) -> ServingRuntime:
    runtime: ServingRuntime = request.app.state.runtime
    return runtime
