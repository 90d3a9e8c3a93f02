"""Classification orchestration: cache, decode, batched inference, metrics and the request log.

Every way in (the legacy route, /v1, /v2, batch jobs) goes through :class:`ClassificationService`,
so each image is treated the same: admitted to the bounded queue, looked up in the cache by
``f"{model_version}:{sha256}"`` before any decoding, decoded and preprocessed off the event loop,
classified by the micro-batcher, and recorded, success or failure, without waiting on the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np

from capsight.api.metrics import Metrics
from capsight.errors import CapsightError, EmptyFile
from capsight.imaging.decode import decode_image
from capsight.imaging.preprocess import preprocess
from capsight.inference.batcher import MicroBatcher, Ticket
from capsight.inference.classifier import Classifier, Prediction, to_predictions
from capsight.settings import Settings
from capsight.store.cache import LRUCache
from capsight.store.protocols import ClassificationRecord
from capsight.store.services import Services

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    endpoint: str
    client_id: str


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str


@dataclass(frozen=True)
class Timing:
    decode_ms: float
    preprocess_ms: float
    inference_ms: float
    total_ms: float


@dataclass(frozen=True)
class ClassificationResult:
    prediction: Prediction
    model_name: str
    model_version: str
    image: ImageInfo
    timing: Timing
    sha256: str | None
    cached: bool = False


@dataclass(frozen=True)
class _Prepared:
    row: np.ndarray
    image: ImageInfo
    sha256: str | None
    decode_s: float
    preprocess_s: float


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


class ClassificationService:
    def __init__(
        self,
        *,
        classifier: Classifier,
        batcher: MicroBatcher,
        settings: Settings,
        services: Services,
        metrics: Metrics | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.metadata = classifier.metadata
        self._batcher = batcher
        self._settings = settings
        self._services = services
        self._metrics = metrics
        self._executor = executor
        self._spec = self.metadata.preprocessing
        self._min_side = self._spec.decode_hint()
        self._need_hash = services.cache is not None or services.recorder is not None
        self._local_cache = services.cache if isinstance(services.cache, LRUCache) else None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def batcher(self) -> MicroBatcher:
        return self._batcher

    def check_capacity(self, n: int = 1) -> None:
        """Fail fast (Overloaded) before a caller spends time reading an upload."""
        self._batcher.check_capacity(n)

    async def classify(self, data: bytes, ctx: RequestContext) -> ClassificationResult:
        (ticket,) = self._batcher.reserve(1)
        return await self._classify_one(data, ticket, ctx, 0)

    async def classify_many(
        self, images: Sequence[bytes], ctx: RequestContext
    ) -> list[ClassificationResult | CapsightError]:
        """One outcome per image, in order; a bad image does not fail its neighbours."""
        tickets = self._batcher.reserve(len(images))
        outcomes = await asyncio.gather(
            *(
                self._classify_one(data, ticket, ctx, i)
                for i, (data, ticket) in enumerate(zip(images, tickets, strict=True))
            ),
            return_exceptions=True,
        )
        results: list[ClassificationResult | CapsightError] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, CapsightError):
                raise outcome
            results.append(outcome)
        return results

    # -- one image -------------------------------------------------------------------------------

    async def _classify_one(
        self, data: bytes, ticket: Ticket, ctx: RequestContext, index: int
    ) -> ClassificationResult:
        started = time.perf_counter()
        sha: str | None = None
        image: ImageInfo | None = None
        try:
            if not data:
                raise EmptyFile()
            hit: dict[str, Any] | None = None
            prepared: _Prepared | None = None
            if self._local_cache is not None:
                # In-process cache: hash, look up and (on a miss) decode in one trip to the pool.
                sha, hit, outcome = await self._off_loop(self._lookup_or_prepare, data)
                self._count_cache(hit)
                if isinstance(outcome, CapsightError):
                    raise outcome
                prepared = outcome
            elif self._services.cache is not None:
                sha = await self._off_loop(_sha256, data)
                hit = await self._cache_lookup(sha)
            if hit is not None and sha is not None:
                ticket.cancel()
                result = self._result_from_cache(hit, sha, started)
                self._count_prediction(result.prediction.label)
                self._record(ctx, index, data, result=result)
                return result
            if prepared is None:
                prepared = await self._off_loop(self._prepare, data, self._need_hash and sha is None)
            image = prepared.image
            sha = sha or prepared.sha256
            inference_started = time.perf_counter()
            row = await ticket.submit(prepared.row)
            inference_s = time.perf_counter() - inference_started
            (prediction,) = to_predictions(row[None], self.metadata.labels)
            result = ClassificationResult(
                prediction=prediction,
                model_name=self.metadata.name,
                model_version=self.metadata.version,
                image=image,
                timing=Timing(
                    decode_ms=_ms(prepared.decode_s),
                    preprocess_ms=_ms(prepared.preprocess_s),
                    inference_ms=_ms(inference_s),
                    total_ms=_ms(time.perf_counter() - started),
                ),
                sha256=sha,
            )
            if self._local_cache is not None and sha is not None:
                self._local_cache.set_sync(self.cache_key(sha), _cache_value(result))  # no task needed
            elif self._services.cache is not None and sha is not None:
                self._spawn(self._cache_store(sha, result))
            self._count_prediction(prediction.label)
            self._record(ctx, index, data, result=result)
            return result
        except CapsightError as exc:
            if self._metrics is not None:
                self._metrics.image_errors.labels(str(exc.status_code)).inc()
            self._record(ctx, index, data, error=exc, sha=sha, image=image, started=started)
            raise
        finally:
            ticket.cancel()  # no-op once submitted

    def _prepare(self, data: bytes, want_hash: bool) -> _Prepared:
        """Runs in the decode pool: Pillow and NumPy release the GIL for the heavy parts."""
        sha = _sha256(data) if want_hash else None
        t0 = time.perf_counter()
        decoded = decode_image(data, min_side=self._min_side, max_pixels=self._settings.max_pixels)
        t1 = time.perf_counter()
        row = preprocess(decoded.image, self._spec)
        t2 = time.perf_counter()
        info = ImageInfo(width=decoded.width, height=decoded.height, format=decoded.format)
        return _Prepared(row=row, image=info, sha256=sha, decode_s=t1 - t0, preprocess_s=t2 - t1)

    def _lookup_or_prepare(
        self, data: bytes
    ) -> tuple[str, dict[str, Any] | None, _Prepared | CapsightError | None]:
        """Pool side of the in-process cache path: (sha256, valid hit or None, prepared image or error).

        A decode error is returned, not raised, so the request log still gets the upload's sha256.
        """
        assert self._local_cache is not None
        sha = _sha256(data)
        hit = self._checked(self._local_cache_get(sha), sha)
        if hit is not None:
            return sha, hit, None
        try:
            return sha, None, self._prepare(data, False)
        except CapsightError as exc:
            return sha, None, exc

    def _local_cache_get(self, sha: str) -> dict[str, Any] | None:
        assert self._local_cache is not None
        try:
            return self._local_cache.get_sync(self.cache_key(sha))
        except Exception:
            logger.warning("result cache lookup failed; classifying anyway", exc_info=True)
            return None

    async def _off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _count_prediction(self, label: str) -> None:
        if self._metrics is not None:
            self._metrics.predictions.labels(self.metadata.name, label).inc()

    # -- cache -----------------------------------------------------------------------------------

    def cache_key(self, sha: str) -> str:
        return f"{self.metadata.version}:{sha}"

    async def _cache_lookup(self, sha: str) -> dict[str, Any] | None:
        assert self._services.cache is not None
        try:
            hit = await self._services.cache.get(self.cache_key(sha))
        except Exception:
            logger.warning("result cache lookup failed; classifying anyway", exc_info=True)
            hit = None
        hit = self._checked(hit, sha)
        self._count_cache(hit)
        return hit

    def _checked(self, hit: dict[str, Any] | None, sha: str) -> dict[str, Any] | None:
        if hit is not None and not _valid_cached(hit, self.metadata.labels):
            logger.warning("ignoring a malformed cache entry for %s", sha)
            return None
        return hit

    def _count_cache(self, hit: dict[str, Any] | None) -> None:
        if self._metrics is not None:
            (self._metrics.cache_hits if hit is not None else self._metrics.cache_misses).inc()

    async def _cache_store(self, sha: str, result: ClassificationResult) -> None:
        assert self._services.cache is not None
        try:
            await self._services.cache.set(self.cache_key(sha), _cache_value(result))
        except Exception:
            logger.warning("result cache store failed", exc_info=True)

    def _result_from_cache(self, hit: dict[str, Any], sha: str, started: float) -> ClassificationResult:
        probabilities = {label: float(hit["probabilities"][label]) for label in self.metadata.labels}
        return ClassificationResult(
            prediction=Prediction(str(hit["label"]), float(hit["confidence"]), probabilities),
            model_name=self.metadata.name,
            model_version=self.metadata.version,
            image=ImageInfo(int(hit["width"]), int(hit["height"]), str(hit["format"])),
            timing=Timing(0.0, 0.0, 0.0, _ms(time.perf_counter() - started)),
            sha256=sha,
            cached=True,
        )

    # -- request log -----------------------------------------------------------------------------

    def _record(
        self,
        ctx: RequestContext,
        index: int,
        data: bytes,
        *,
        result: ClassificationResult | None = None,
        error: CapsightError | None = None,
        sha: str | None = None,
        image: ImageInfo | None = None,
        started: float | None = None,
    ) -> None:
        recorder = self._services.recorder
        if recorder is None:
            return
        try:
            if result is not None:
                image, sha = result.image, result.sha256
                latency_ms = result.timing.total_ms
            else:
                latency_ms = _ms(time.perf_counter() - started) if started is not None else 0.0
            record = ClassificationRecord(
                request_id=ctx.request_id,
                created_at=datetime.now(UTC),
                endpoint=ctx.endpoint,
                client_id=ctx.client_id,
                model_name=self.metadata.name,
                model_version=self.metadata.version,
                label=result.prediction.label if result else None,
                confidence=result.prediction.confidence if result else None,
                probabilities=result.prediction.probabilities if result else None,
                latency_ms=latency_ms,
                image_sha256=sha,
                image_bytes=len(data),
                image_format=image.format if image else None,
                width=image.width if image else None,
                height=image.height if image else None,
                status_code=error.status_code if error else 200,
                error=error.message if error else None,
                cached=result.cached if result else False,
                item_index=index,
            )
            # Only bytes that decoded as an image are worth keeping; never store arbitrary uploads.
            keep_image = self._settings.store_images and image is not None
            recorder.submit(record, data if keep_image else None)
        except Exception:
            logger.exception("request recorder failed; the response is unaffected")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for background cache writes (used at shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


def _cache_value(result: ClassificationResult) -> dict[str, Any]:
    return {
        "label": result.prediction.label,
        "confidence": result.prediction.confidence,
        "probabilities": result.prediction.probabilities,
        "width": result.image.width,
        "height": result.image.height,
        "format": result.image.format,
    }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _valid_cached(hit: dict[str, Any], labels: tuple[str, ...]) -> bool:
    try:
        return (
            hit["label"] in labels
            and 0.0 <= float(hit["confidence"]) <= 1.0
            and set(hit["probabilities"]) == set(labels)
            and int(hit["width"]) > 0
            and int(hit["height"]) > 0
            and isinstance(hit["format"], str)
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
