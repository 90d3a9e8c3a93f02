"""Single flight: concurrent requests for the same image share one decode and one model call.

Why: the result cache only answers once an answer exists. 16 clients uploading the same photo at
the same moment all missed it and all ran the model (measured: 16 model runs for one image). Now
the first request starts a *flight* under the image's result-cache key (model name, version and
fingerprint, sha256, and the caller's cache scope, so a reloaded model or another principal never
shares one) and the others wait for its answer. The cache itself need not be on.

Within one process only: two workers or two replicas that receive the same image at once still
run it once each (across replicas a Redis lock with a lease would be needed, for a model call of
milliseconds; the Redis cache answers them from the first answer on).

A flight belongs to no single request, so the first one's fate is not everyone's:

- a waiter whose client hangs up (or whose handler is cancelled) leaves it; the flight is cancelled,
  giving its queue place back, only once its last waiter has left;
- a flight that failed for a server-side reason (5xx: the model failed, the server is shutting
  down) is retried once by each request that joined it, which again share one flight; an error
  about the bytes (4xx) would be the same for every copy and is everyone's answer;
- its entry is removed as soon as it ends (after its cache write, so that a request arriving in
  between is answered from the flight or the cache, never by a second model call).

Two windows around a flight are closed as well:

- the decode comes before the flight (the decode thread hashes, looks up and decodes in one trip,
  and only then does the event loop start the flight), so copies decoding at once in two threads
  each decoded the image. The first copy to reach a decode thread now *claims* the decode
  (:class:`SharedDecode`, under a lock the threads share); a copy arriving while it runs, or before
  the flight that uses it has started, waits for its result instead. Only copies of one image share
  a claim: different images decode side by side as before;
- with a shared cache (Redis, looked up from the event loop), a copy whose lookup was sent before
  its twin's answer was stored, and came back after its twin's flight had ended, found neither and
  ran the model again. A flight that ends while a lookup of its key is out is kept until the last
  such lookup is back (:meth:`Flights.looking`), and a copy whose lookup missed takes its answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np

from capsight.api.results import ClassificationResult, ImageInfo, Timing, ms
from capsight.errors import CapsightError, ClientClosedRequest, ServiceUnavailable
from capsight.inference.classifier import Prediction
from capsight.inference.metadata import ModelMetadata


@dataclass(frozen=True)
class Prepared:
    """An image decoded and preprocessed for the model, in the decode pool."""

    row: np.ndarray
    image: ImageInfo
    decode_s: float
    preprocess_s: float


@dataclass(frozen=True)
class Computed:
    """One flight's answer: what every request that shared it reports (each with its own total)."""

    prediction: Prediction
    image: ImageInfo
    decode_s: float
    preprocess_s: float
    inference_s: float

    def result(self, meta: ModelMetadata, sha: str, started: float) -> ClassificationResult:
        """The answer of a request that began at ``started``: the same for all but its total time."""
        return ClassificationResult(
            prediction=self.prediction,
            model_name=meta.name,
            model_version=meta.version,
            image=self.image,
            timing=Timing(
                decode_ms=ms(self.decode_s),
                preprocess_ms=ms(self.preprocess_s),
                inference_ms=ms(self.inference_s),
                total_ms=ms(time.perf_counter() - started),
            ),
            sha256=sha,
        )


class Flight:
    def __init__(self, task: asyncio.Task[None], answer: asyncio.Future[Computed]) -> None:
        self.task = task
        self.answer = answer
        self.waiters = 0
        # The image's size and format once decoded: the request-log row of a copy whose flight then
        # failed, or that left it, names them as a request that decoded the image itself does.
        self.image: ImageInfo | None = None


class SharedDecode:
    """A decode of one image claimed by the first copy that reached a decode thread; copies that
    arrive while it runs (or before its flight has started) wait for it instead of decoding again."""

    def __init__(self) -> None:
        self._result: concurrent.futures.Future[Prepared] = concurrent.futures.Future()
        # Running from the start: a waiter that is cancelled cannot cancel it under its decoder.
        self._result.set_running_or_notify_cancel()

    def done(self, prepared: Prepared) -> None:
        self._result.set_result(prepared)

    def failed(self, exc: BaseException) -> None:
        self._result.set_exception(exc)

    async def prepared(self) -> Prepared:
        """The decoder's result, or its error (raised here as in the decoder)."""
        return await asyncio.wrap_future(self._result)


class Flights:
    """The flights of one service (one model), by key. Used from its event loop, except
    ``claim_decode`` and ``release_decode``, which decode threads call too."""

    def __init__(
        self, on_join: Callable[[], None] | None = None, on_lead: Callable[[], None] | None = None
    ) -> None:
        """``on_join``: called for each request that waits for a flight another one started;
        ``on_lead``: for each request that starts one (a model call of its own). Once per request,
        by its first try (a retry after a failed flight is not counted again): each image is one
        cache miss or one coalesced image, never both (the cache hit ratio's terms)."""
        self._flights: dict[str, Flight] = {}
        self._on_join = on_join
        self._on_lead = on_lead
        # Flights ended so far: a decode thread reads it before a cache lookup, so that a request
        # whose lookup missed knows whether a flight (its answer cached) ended since.
        self.ended = 0
        # Decodes claimed by a decode thread, until the flight that uses the image has started
        # (that flight is then what copies join); the lock orders a claim against that start.
        self._decodes: dict[str, SharedDecode] = {}
        self._decodes_lock = threading.Lock()
        # Shared-cache lookups now out (and copies waiting for a twin's decode), by key, and the
        # answered flights that ended meanwhile; under the lock, as decode threads count copies.
        self._lookups: dict[str, int] = {}
        self._finished: dict[str, Flight] = {}

    def __len__(self) -> int:
        return len(self._flights)

    def claim_decode(self, key: str) -> tuple[SharedDecode | None, bool]:
        """From a decode thread, about to decode the image of ``key``: (the decode to take the image
        from, whether this caller runs it). (None, False) when a flight of ``key`` has started: it
        decodes the image itself, or already has."""
        with self._decodes_lock:
            shared = self._decodes.get(key)
            if shared is not None:
                # The copy waits for this decode; the flight using the image may end before the event
                # loop resumes the copy: kept for it like a lookup out (see looking).
                self._lookups[key] = self._lookups.get(key, 0) + 1
                return shared, False
            if key in self._flights:  # started before any claim, or after this key's was released
                return None, False
            shared = self._decodes[key] = SharedDecode()
            return shared, True

    def release_decode(self, key: str, shared: SharedDecode | None = None) -> None:
        """End the claim of ``key`` (``shared``'s only, when given): its decoder failed or moved on,
        or the flight that copies now join has started."""
        with self._decodes_lock:
            if shared is None or self._decodes.get(key) is shared:
                self._decodes.pop(key, None)

    def looking(self, key: str) -> None:
        """A shared-cache lookup of ``key`` is sent: a flight of ``key`` that ends before it is back
        is kept for it (see :meth:`looked`). A copy given a twin's decode by :meth:`claim_decode` is
        counted the same way, until it is back on the event loop with the image."""
        with self._decodes_lock:
            self._lookups[key] = self._lookups.get(key, 0) + 1

    def looked(self, key: str) -> Flight | None:
        """The lookup (or the wait for a twin's decode) is back: the answered flight of ``key`` that
        ended while it was out, if any (its answer was stored after the lookup was read, or the
        store failed). Called from a decode thread too, for a request cancelled meanwhile."""
        with self._decodes_lock:
            finished = self._finished.get(key)
            count = self._lookups[key] - 1
            if count:
                self._lookups[key] = count
            else:
                del self._lookups[key]
                self._finished.pop(key, None)
            return finished

    def joinable(self, key: str) -> Flight | None:
        """The flight to wait for: one running, or one that answered and is writing the cache."""
        flight = self._flights.get(key)
        if flight is None or not _answered_or_running(flight):
            return None
        return flight

    def start(
        self,
        key: str,
        compute: Callable[[], Awaitable[Computed]],
        after: Callable[[Computed], Coroutine[Any, Any, None]] | None = None,
    ) -> Flight:
        """Run ``compute`` as the flight of ``key``, then ``after`` (the cache write) with its answer."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Computed] = loop.create_future()
        # Read once, so that a failure nobody waited for (all left) is no "never retrieved" warning.
        answer.add_done_callback(lambda done: done.cancelled() or done.exception())

        async def run() -> None:
            try:
                computed = await compute()
            except asyncio.CancelledError:
                answer.cancel()
                raise
            except Exception as exc:
                answer.set_exception(exc)
                return
            answer.set_result(computed)
            if after is not None:
                await after(computed)

        flight = Flight(loop.create_task(run()), answer)
        self._flights[key] = flight
        self.release_decode(key)  # after the flight is in the table: a copy finds one or the other
        flight.task.add_done_callback(lambda _: self._ended(key, flight))
        return flight

    async def answer(
        self,
        key: str,
        start: Callable[[], Flight],
        gone: asyncio.Task[bool] | None,
        seen: list[Flight] | None = None,
        finished: Flight | None = None,
    ) -> Computed:
        """The answer of ``key``'s flight, joined or begun with ``start``; a request that joined a
        flight that failed for its leader's reason (see ``retryable``) tries once more.
        ``seen`` gets each flight waited for: on an error, the last one's ``image`` is the row's.
        ``finished``: a flight of ``key`` that ended while this request's lookup was out
        (:meth:`looked`), joined when none is running."""
        flight, led = self._joined_or(key, start, count=True, finished=finished)
        try:
            if seen is not None:
                seen.append(flight)
            return await self.wait(key, flight, gone)
        except Exception as exc:
            if led or not retryable(exc):
                raise
        flight, _ = self._joined_or(key, start, count=False)
        if seen is not None:
            seen.append(flight)
        return await self.wait(key, flight, gone)

    def _joined_or(
        self, key: str, start: Callable[[], Flight], *, count: bool, finished: Flight | None = None
    ) -> tuple[Flight, bool]:
        """(the flight to wait for, whether this request started it)."""
        flight = self.joinable(key)
        if flight is None and finished is not None and _answered_or_running(finished):
            flight = finished
        led = flight is None
        if flight is None:
            flight = start()
        hook = self._on_lead if led else self._on_join
        if count and hook is not None:
            hook()
        return flight, led

    async def wait(self, key: str, flight: Flight, gone: asyncio.Task[bool] | None) -> Computed:
        """The flight's answer or error; ClientClosedRequest once ``gone`` says this client left."""
        flight.waiters += 1
        try:
            while not flight.answer.done():
                waiting: set[asyncio.Future[Any]] = {flight.answer} if gone is None else {flight.answer, gone}
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if gone is not None and gone.done() and not flight.answer.done():
                    if not gone.cancelled() and gone.result():
                        raise ClientClosedRequest()
                    gone = None  # a server that cannot tell: wait for the answer as before
            if flight.answer.cancelled():  # only when its task was cancelled by something else
                raise ServiceUnavailable("The model call for this image was cancelled; retry.")
            return flight.answer.result()
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.answer.done():
                flight.task.cancel()  # nobody left to answer: give its queue place back
                self._end(key, flight)

    def _ended(self, key: str, flight: Flight) -> None:
        if not flight.answer.done():  # cancelled before its first step: run() never ran
            flight.answer.cancel()
        self._end(key, flight)

    def _end(self, key: str, flight: Flight) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
            self.ended += 1
            with self._decodes_lock:
                if key in self._lookups and flight.answer.done() and _answered_or_running(flight):
                    self._finished[key] = flight  # for the lookups still out (see looked)


def _answered_or_running(flight: Flight) -> bool:
    """Not failed nor cancelled: a flight whose answer a copy may wait for."""
    answer = flight.answer
    return not answer.done() or not (answer.cancelled() or answer.exception())


def retryable(exc: Exception) -> bool:
    """Whether a request that joined a failed flight may try once on its own: not for an error about
    the image's bytes (4xx), which its own attempt would meet again."""
    return not isinstance(exc, CapsightError) or exc.status_code >= 500
