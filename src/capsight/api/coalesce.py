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
"""

from __future__ import annotations

import asyncio
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


class Flights:
    """The flights of one service (one model), by key. Used from its event loop; ``in_flight`` may
    also be read from a decode thread (a dict lookup), to skip decoding a copy of an image in flight."""

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

    def __len__(self) -> int:
        return len(self._flights)

    def in_flight(self, key: str) -> bool:
        return key in self._flights

    def joinable(self, key: str) -> Flight | None:
        """The flight to wait for: one running, or one that answered and is writing the cache."""
        flight = self._flights.get(key)
        if flight is None or (
            flight.answer.done() and (flight.answer.cancelled() or flight.answer.exception())
        ):
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
        flight.task.add_done_callback(lambda _: self._ended(key, flight))
        return flight

    async def answer(
        self,
        key: str,
        start: Callable[[], Flight],
        gone: asyncio.Task[bool] | None,
        seen: list[Flight] | None = None,
    ) -> Computed:
        """The answer of ``key``'s flight, joined or begun with ``start``; a request that joined a
        flight that failed for its leader's reason (see ``retryable``) tries once more.
        ``seen`` gets each flight waited for: on an error, the last one's ``image`` is the row's."""
        flight, led = self._joined_or(key, start, count=True)
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

    def _joined_or(self, key: str, start: Callable[[], Flight], *, count: bool) -> tuple[Flight, bool]:
        """(the flight to wait for, whether this request started it)."""
        flight = self.joinable(key)
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


def retryable(exc: Exception) -> bool:
    """Whether a request that joined a failed flight may try once on its own: not for an error about
    the image's bytes (4xx), which its own attempt would meet again."""
    return not isinstance(exc, CapsightError) or exc.status_code >= 500
