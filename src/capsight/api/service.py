"""Classification orchestration: cache, decode, batched inference, metrics and the request log.

Every way in (the legacy route, /v1, /v2, batch jobs) goes through :class:`ClassificationService`,
so each image is treated the same: admitted to the bounded queue, looked up in the cache by
``f"{model_name}:{model_version}:{fingerprint}:{sha256}"`` (with auth on, suffixed by the caller's
principal: ``RequestContext.cache_scope``) before any decoding, decoded and preprocessed off the
event loop, classified by the micro-batcher, and recorded, success or failure, without waiting.
Copies of one image sent at the same moment share one decode and one model call (``coalesce``).
The cache side lives in ``result_cache``, the result types in ``results``, the request-log row of
each image in ``outcome_record``, the watch for a client that hangs up in ``disconnect``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from capsight.api.coalesce import Computed, Flight, Flights, Prepared, SharedDecode, retryable
from capsight.api.disconnect import Receive, _gone_flag, _raise_if_gone, _watch_disconnect
from capsight.api.metrics import Metrics
from capsight.api.outcome_record import OutcomeRecorder
from capsight.api.result_cache import ResultCacheClient, result_key
from capsight.api.results import ClassificationResult, ImageInfo, RequestContext
from capsight.errors import CapsightError, ClientClosedRequest, EmptyFile
from capsight.imaging.decode import JPEG_MAGIC, decode_image, detect_format
from capsight.imaging.limits import check_pixels
from capsight.imaging.preprocess import preprocess
from capsight.inference.batcher import MicroBatcher, Ticket
from capsight.inference.classifier import Classifier, to_predictions
from capsight.settings import Settings
from capsight.store.services import Services

T = TypeVar("T")
# A decode trip's outcome on a miss: see ClassificationService._hash_lookup_prepare.
Decoded = tuple[SharedDecode, Prepared | CapsightError] | SharedDecode | CapsightError | None


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
        full_size_executor: Executor | None = None,
    ) -> None:
        """``executor`` decodes JPEGs (and hashes); ``full_size_executor``, when given, decodes every
        other format. Why two: a JPEG is decoded at reduced scale in milliseconds, while a PNG, WebP
        or HEIF is decoded at full size and a 49-megapixel one takes a second or more. In one pool,
        a phone photo that arrived behind 16 such PNGs waited 22 s for them (measured on 2 cores);
        in its own pool it shares the CPU with them instead of queueing behind them."""
        self.metadata = classifier.metadata
        self._batcher = batcher
        self._settings = settings
        self._metrics = metrics
        self._executor = executor
        self._full_size_executor = full_size_executor
        self._spec = self.metadata.preprocessing
        self._min_side = self._spec.decode_hint()
        self._cache = (
            ResultCacheClient(services.cache, self.metadata, metrics) if services.cache is not None else None
        )
        joins = metrics.coalesced.inc if metrics is not None else None
        misses = metrics.cache_misses.inc if metrics is not None and self._cache is not None else None
        self._flights = Flights(on_join=joins, on_lead=misses)  # an image: a hit, a miss or coalesced
        self._outcomes = OutcomeRecorder(services, self.metadata, settings)
        self._background: set[asyncio.Task[None]] = set()

    @property
    def batcher(self) -> MicroBatcher:
        return self._batcher

    def check_capacity(self, n: int = 1) -> None:
        """Fail fast (Overloaded) before a caller spends time reading an upload."""
        self._batcher.check_capacity(n)

    async def classify(
        self, data: bytes, ctx: RequestContext, *, receive: Receive | None = None
    ) -> ClassificationResult:
        """``receive``: the HTTP request's, whose body has been read, so an image whose client hangs
        up leaves the queue (ClientClosedRequest) instead of being scored for nobody."""
        (ticket,) = self._batcher.reserve(1)
        gone = _watch_disconnect(receive)
        try:
            return await self._classify_one(data, ticket, ctx, 0, gone)
        finally:
            if gone is not None:
                gone.cancel()

    async def classify_many(
        self, images: Sequence[bytes | CapsightError], ctx: RequestContext, *, receive: Receive | None = None
    ) -> list[ClassificationResult | CapsightError]:
        """One outcome per image, in order; a bad image does not fail its neighbours.

        An item may already be an error (refused while it was uploaded): it is logged and answered
        in its place without being decoded. ``receive``: as for classify.
        """
        tickets = self._batcher.reserve(len(images))
        gone = _watch_disconnect(receive)
        try:
            outcomes = await asyncio.gather(
                *(
                    self._refuse_one(data, ticket, ctx, i)
                    if isinstance(data, CapsightError)
                    else self._classify_one(data, ticket, ctx, i, gone)
                    for i, (data, ticket) in enumerate(zip(images, tickets, strict=True))
                ),
                return_exceptions=True,
            )
        finally:
            if gone is not None:
                gone.cancel()
            # An image task cancelled before its first step never runs its own cleanup: without
            # this its place in the queue stayed taken for good (a no-op for the others).
            for ticket in tickets:
                ticket.cancel()
        results: list[ClassificationResult | CapsightError] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, CapsightError):
                raise outcome
            results.append(outcome)
        if any(isinstance(outcome, ClientClosedRequest) for outcome in results):
            # Its client has gone (each image is logged already): the request ends as a single
            # image's does, a 499, not as a 200 that nobody reads, counted among the successes.
            raise ClientClosedRequest()
        return results

    # -- one image -------------------------------------------------------------------------------

    async def _refuse_one(
        self, error: CapsightError, ticket: Ticket, ctx: RequestContext, index: int
    ) -> ClassificationResult:
        ticket.cancel()
        if self._metrics is not None:
            self._metrics.image_errors.labels(str(error.status_code)).inc()
        self._outcomes.record(ctx, index, b"", error=error)
        raise error

    async def _classify_one(
        self,
        data: bytes,
        ticket: Ticket,
        ctx: RequestContext,
        index: int,
        gone: asyncio.Task[bool] | None = None,
    ) -> ClassificationResult:
        started = time.perf_counter()
        sha: str | None = None
        image: ImageInfo | None = None
        seen: list[Flight] = []
        claimed: SharedDecode | None = None  # this request's decode, claimed for its copies
        finished: Flight | None = None
        left = _gone_flag(gone)  # no decode for a client gone while its upload waited for a thread
        try:
            if not data:
                raise EmptyFile()
            hit: dict[str, Any] | None = None
            prepared: Prepared | None = None
            cache = self._cache
            if cache is None or cache.local is not None:
                # One trip to the pool: hash, in-process lookup, decode on a miss (unless in flight).
                ended, digest, hit, trip = await self._trip(data, ctx.cache_scope, left)
                sha = digest
                outcome: Prepared | CapsightError | None
                if isinstance(trip, tuple):  # this request decoded the image: its claim
                    claimed, outcome = trip
                elif isinstance(trip, SharedDecode):  # a copy's decode was running: its image
                    try:
                        outcome = await _shared_image(trip)
                    finally:  # the flight of that image, if it ended before this copy resumed
                        finished = self._flights.looked(result_key(self.metadata, digest, ctx.cache_scope))
                else:
                    outcome = trip
                if isinstance(outcome, CapsightError):
                    if cache is not None:
                        cache.count(hit)  # a miss whose decode failed: no flight to count it
                    raise outcome
                prepared = outcome
                if cache is not None and hit is None and finished is None and self._flights.ended != ended:
                    # A flight (maybe for these bytes) ended while the pool worked: its answer may
                    # be in the cache now (a second lookup, not a second model call).
                    hit = cache.lookup_local(digest, ctx.cache_scope)
            else:  # a shared cache (Redis): look up from the event loop, decode only on a miss
                sha = digest = await self._off_loop(_sha256, data)
                key = result_key(self.metadata, digest, ctx.cache_scope)
                self._flights.looking(key)
                try:
                    hit = await cache.lookup(digest, ctx.cache_scope)
                finally:
                    # A flight of these bytes that ended while the lookup was out: its answer (the
                    # lookup may have been read before that answer was stored).
                    finished = self._flights.looked(key)
            if cache is not None and hit is not None:
                cache.count(hit)
                ticket.cancel()
                result = cache.result_of(hit, digest, started)
                # The entry may come from a server with a higher pixel limit (another replica, or
                # before a restart): answer as a fresh request here would, with a 413.
                check_pixels(result.image.width, result.image.height, self._settings.max_pixels)
                self._count_prediction(result.prediction.label)
                self._outcomes.record(ctx, index, data, result=result)
                return result
            image = prepared.image if prepared is not None else None
            ticket.cancel()  # a flight holds a queue place of its own: this request may leave first
            # The answer of the flight in progress for these bytes or of one this request starts.
            key = result_key(self.metadata, digest, ctx.cache_scope)
            start = functools.partial(self._fly, key, data, digest, ctx.cache_scope, prepared)
            computed = await self._flights.answer(key, start, gone, seen, finished)
            image = computed.image
            result = computed.result(self.metadata, digest, started)
            self._count_prediction(result.prediction.label)
            self._outcomes.record(ctx, index, data, result=result)
            return result
        except CapsightError as exc:
            if self._metrics is not None:
                self._metrics.image_errors.labels(str(exc.status_code)).inc()
            if image is None and seen:  # a copy that joined, or a flight that decoded these bytes
                image = seen[-1].image  # as a request that decoded them itself logs them
            self._outcomes.record(ctx, index, data, error=exc, sha=sha, image=image, started=started)
            raise
        finally:
            ticket.cancel()  # no-op once submitted
            if claimed is not None and sha is not None:  # answered without a flight, or failed
                self._flights.release_decode(result_key(self.metadata, sha, ctx.cache_scope), claimed)

    def _fly(self, key: str, data: bytes, sha: str, scope: str, prepared: Prepared | None) -> Flight:
        """Start the flight of ``key``: decode unless ``prepared``, one model call, the cache write."""
        (ticket,) = self._batcher.reserve(1)

        async def compute() -> Computed:
            try:
                ready = prepared
                if ready is None:
                    ready = await self._off_loop(self._prepare, data, pool=self._pool_for(data))
                flight.image = ready.image  # bound below, before this task's first step
                inference_started = time.perf_counter()
                row = await ticket.submit(ready.row)
                inference_s = time.perf_counter() - inference_started
            finally:
                ticket.cancel()  # no-op once submitted
            (prediction,) = to_predictions(row[None], self.metadata.labels)
            return Computed(prediction, ready.image, ready.decode_s, ready.preprocess_s, inference_s)

        async def store(computed: Computed) -> None:
            if self._cache is not None:
                await self._cache.store(sha, computed.result(self.metadata, sha, time.perf_counter()), scope)

        flight = self._flights.start(key, compute, store)
        flight.task.add_done_callback(lambda _: ticket.cancel())  # also if cancelled before it began
        self._background.add(flight.task)  # drain() waits for its cache write
        flight.task.add_done_callback(self._background.discard)
        return flight

    def _prepare(self, data: bytes, left: threading.Event | None = None) -> Prepared:
        """Runs in the decode pool: Pillow and NumPy release the GIL for the heavy parts. Not for a
        client that left (``left`` set) while the upload waited for a thread (see _raise_if_gone)."""
        _raise_if_gone(left)
        t0 = time.perf_counter()
        decoded = decode_image(data, min_side=self._min_side, max_pixels=self._settings.max_pixels)
        t1 = time.perf_counter()
        row = preprocess(decoded.image, self._spec)
        t2 = time.perf_counter()
        info = ImageInfo(width=decoded.width, height=decoded.height, format=decoded.format)
        return Prepared(row=row, image=info, decode_s=t1 - t0, preprocess_s=t2 - t1)

    async def _trip(
        self, data: bytes, scope: str, left: threading.Event | None
    ) -> tuple[int, str, dict[str, Any] | None, Decoded]:
        """The one-trip path's pool call (``_hash_lookup_prepare``). A request cancelled meanwhile
        still releases the decode it claimed, from its thread once that is done: else the claim,
        with its decoded image, stayed in the table until a copy of the same bytes came by."""
        pool = self._pool_for(data)
        trip: Future[tuple[int, str, Any, Decoded]]
        if pool is None:  # the loop's default executor (a service built without pools, in tests)
            # Its run_in_executor future drops the result of a trip whose request was cancelled:
            # a copy's count as waiting for its twin's decode (or a claim) was then never taken back.
            trip = Future()
            asyncio.get_running_loop().run_in_executor(
                None, _run_into, trip, self._hash_lookup_prepare, data, scope, left
            )
        else:
            trip = pool.submit(self._hash_lookup_prepare, data, scope, left)
        try:
            return await asyncio.wrap_future(trip)
        except asyncio.CancelledError:
            trip.add_done_callback(functools.partial(self._release_abandoned, scope))
            raise

    def _release_abandoned(self, scope: str, trip: Future[tuple[int, str, Any, Decoded]]) -> None:
        """Done-callback of a cancelled request's trip (in its thread, or at once)."""
        if trip.cancelled() or trip.exception() is not None:
            return
        _, sha, _, outcome = trip.result()
        if isinstance(outcome, tuple):
            self._flights.release_decode(result_key(self.metadata, sha, scope), outcome[0])
        elif isinstance(outcome, SharedDecode):  # a copy counted as out until it was back
            self._flights.looked(result_key(self.metadata, sha, scope))

    def _hash_lookup_prepare(
        self, data: bytes, scope: str, left: threading.Event | None = None
    ) -> tuple[int, str, dict[str, Any] | None, Decoded]:
        """Pool side of the one-trip path: (flights ended before the lookup, sha256, valid in-process
        hit, and on a miss: (this request's claim, its prepared image or error) when it decoded the
        image, the decode of a copy that claimed it first (see ``coalesce``), or None when a copy's
        flight has started: that flight decodes them once for all).

        A decode error is returned, not raised, so the request log still gets the upload's sha256;
        so is ClientClosedRequest instead of a decode once ``left`` is set (see _prepare).
        """
        ended = self._flights.ended
        sha = _sha256(data)
        if self._cache is not None and self._cache.local is not None:
            hit = self._cache.lookup_local(sha, scope)
            if hit is not None:
                return ended, sha, hit, None
        try:
            _raise_if_gone(left)  # before a claim: copies would wait for a decode that never runs
        except CapsightError as exc:
            return ended, sha, None, exc
        key = result_key(self.metadata, sha, scope)
        shared, mine = self._flights.claim_decode(key)
        if shared is None or not mine:
            return ended, sha, None, shared
        try:
            prepared = self._prepare(data, left)
        except BaseException as exc:
            self._flights.release_decode(key, shared)
            shared.failed(exc)
            if isinstance(exc, CapsightError):
                return ended, sha, None, (shared, exc)
            raise
        shared.done(prepared)  # the claim stays until the flight using the image has started
        return ended, sha, None, (shared, prepared)

    def _pool_for(self, data: bytes) -> Executor | None:
        """The pool that decodes ``data``: JPEGs (by their leading bytes) in the decode pool, other
        formats in the full-size pool when there is one. Bytes that are no image at all are refused
        in milliseconds; they go with the JPEGs."""
        if self._full_size_executor is None or data[:3] == JPEG_MAGIC or detect_format(data) is None:
            return self._executor
        return self._full_size_executor

    async def _off_loop(self, fn: Callable[..., T], *args: Any, pool: Executor | None = None) -> T:
        executor = pool if pool is not None else self._executor
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    def _count_prediction(self, label: str) -> None:
        if self._metrics is not None:
            self._metrics.predictions.labels(self.metadata.name, label).inc()

    async def drain(self) -> None:
        """Wait for background cache writes (used at shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


def _run_into(future: Future[T], fn: Callable[..., T], *args: Any) -> None:
    """``fn(*args)`` into ``future``, as an executor's ``submit`` runs it (in a thread of the loop's
    default executor, which hands out asyncio futures only)."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(fn(*args))
    except BaseException as exc:
        future.set_exception(exc)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _shared_image(shared: SharedDecode) -> Prepared | CapsightError | None:
    """A copy's image, from the decode another copy claimed: its error when the bytes are at fault
    (this copy's own decode would meet it too), else None (the flight then decodes the image)."""
    try:
        return await shared.prepared()
    except CapsightError as exc:
        return None if retryable(exc) or isinstance(exc, ClientClosedRequest) else exc
    except Exception:
        return None
