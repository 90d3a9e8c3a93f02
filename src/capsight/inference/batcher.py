"""The micro-batcher: concurrent requests share one model call.

Why: a CNN on ONNX Runtime costs far less per image in a batch of 8 than in 8 calls of one, and
ONNX Runtime already spreads one call over every core (intra-op threads). So exactly one dedicated
worker thread calls ``predict``; requests queue up while it is busy and the next call takes them
all (up to ``max_batch_size``). That adapts by itself: an idle server answers a lone request at
once, a loaded one forms large batches.

The worker only waits ``max_wait_ms`` for more work when some admitted request is still being
decoded (it holds a :class:`Ticket` it has not submitted yet), because only then is more work
certain to arrive soon. Waiting for nobody would add latency and gain nothing.

Admission is bounded (``queue_max`` images between admission and the model): a full queue raises
:class:`~capsight.errors.Overloaded` at once, so an overloaded server answers 503 in microseconds
instead of letting latency grow without bound.

The worker thread itself (forming batches, running them, resolving futures) lives in
``batch_worker.py``, whose :class:`~capsight.inference.batch_worker.BatchWorker` mixin the batcher
inherits.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from capsight.errors import Overloaded, ServiceUnavailable, TooManyImages
from capsight.inference.batch_worker import BatchWorker

PredictFn = Callable[[np.ndarray], np.ndarray]
BatchObserver = Callable[[int, float], None]  # (batch size, seconds in predict), from the worker


@dataclass(frozen=True)
class BatcherStats:
    batches: int
    items: int
    failed_batches: int
    largest_batch: int
    sizes: dict[int, int] = field(default_factory=dict)  # batch size -> how many batches had it

    @property
    def mean_batch_size(self) -> float:
        return self.items / self.batches if self.batches else 0.0


@dataclass(eq=False)  # compared by identity: the queue removes exactly this item
class _Item:
    row: np.ndarray
    future: asyncio.Future[np.ndarray]


class Ticket:
    """One admitted image's place in the queue, held while it is being decoded.

    ``submit`` hands the preprocessed row to the worker; ``cancel`` gives the place back (the image
    was bad, or the cache answered). Both act once; a later call is a no-op, so ``cancel`` can sit
    in a ``finally``.
    """

    __slots__ = ("_batcher", "_open")

    def __init__(self, batcher: MicroBatcher) -> None:
        self._batcher = batcher
        self._open = True

    def submit(self, row: np.ndarray) -> asyncio.Future[np.ndarray]:
        if not self._open:
            raise RuntimeError("ticket already used")
        self._open = False
        return self._batcher._enqueue(row)

    def cancel(self) -> None:
        if self._open:
            self._open = False
            self._batcher._unreserve()


class MicroBatcher(BatchWorker):
    """Gathers rows submitted from one event loop into batches run on one worker thread."""

    def __init__(
        self,
        predict: PredictFn,
        *,
        max_batch_size: int = 16,
        max_wait_ms: float = 2.0,
        queue_max: int = 512,
        on_batch: BatchObserver | None = None,
        retry_after: float = 1.0,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self._predict = predict
        self.max_batch_size = max_batch_size
        self.max_wait = max(0.0, max_wait_ms) / 1000.0
        self.queue_max = max(1, queue_max)
        self._on_batch = on_batch
        self._retry_after = retry_after
        self._cond = threading.Condition()
        self._pending: deque[_Item] = deque()
        self._reserved = 0  # admitted, not yet submitted (being decoded)
        self._batches_refused = 0  # batches in a row that failed whole while each image ran alone
        self._closing = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._batches = 0
        self._items = 0
        self._failed = 0
        self._largest = 0
        self._sizes: Counter[int] = Counter()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker; call from the event loop whose futures it will resolve."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="capsight-batcher", daemon=True)
        self._thread.start()

    async def stop(self, timeout: float = 5.0) -> None:
        """Finish the batch in progress, fail everything still queued, and join the worker."""
        with self._cond:
            self._closing = True
            leftovers = list(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        for item in leftovers:
            if not item.future.done():
                item.future.set_exception(ServiceUnavailable("Server is shutting down."))
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join, timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._closing

    # -- admission -------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Images admitted but not yet inside a model call."""
        return self._reserved + len(self._pending)

    def check_capacity(self, n: int = 1) -> None:
        """Raise Overloaded when ``n`` more images would not fit (cheap, reserves nothing)."""
        if self._closing:
            raise ServiceUnavailable("Server is shutting down.")
        if self.depth + n > self.queue_max:
            raise Overloaded(retry_after=self._retry_after)

    def reserve(self, n: int = 1) -> list[Ticket]:
        """Admit ``n`` images at once (all or none), or raise Overloaded.

        More images than the queue can ever hold are TooManyImages (400), not Overloaded: a 503
        with Retry-After told the client to retry a request that could never be admitted (a
        queue_max below max_batch_images), and one that honours Retry-After retried forever."""
        if n > self.queue_max:
            raise TooManyImages(
                f"Too many images: this server queues at most {self.queue_max} images at once; "
                "send them in smaller requests."
            )
        with self._cond:
            self.check_capacity(n)
            self._reserved += n
        return [Ticket(self) for _ in range(n)]

    async def infer(self, row: np.ndarray) -> np.ndarray:
        """Admit, submit and await one row: the simple path for callers with no decode step."""
        (ticket,) = self.reserve(1)
        return await ticket.submit(row)

    def _unreserve(self) -> None:
        with self._cond:
            self._reserved -= 1
            self._cond.notify()  # a worker waiting for this image can stop waiting

    def _enqueue(self, row: np.ndarray) -> asyncio.Future[np.ndarray]:
        loop = self._loop
        if loop is None:
            raise RuntimeError("MicroBatcher.start() was not called")
        future: asyncio.Future[np.ndarray] = loop.create_future()
        with self._cond:
            self._reserved -= 1
            if self._closing:
                future.set_exception(ServiceUnavailable("Server is shutting down."))
                return future
            item = _Item(row, future)
            self._pending.append(item)
            self._cond.notify()
        future.add_done_callback(lambda done: self._forget(item) if done.cancelled() else None)
        return future

    def _forget(self, item: _Item) -> None:
        """A caller that left while queued (its client disconnected) gives its place back now: it
        kept it until the worker reached it, so a queue full of callers that had given up answered
        503 to live ones, and the model scored rows for nobody."""
        with self._cond, contextlib.suppress(ValueError):  # already taken into a batch
            self._pending.remove(item)

    def stats(self) -> BatcherStats:
        return BatcherStats(
            batches=self._batches,
            items=self._items,
            failed_batches=self._failed,
            largest_batch=self._largest,
            sizes=dict(self._sizes),
        )
