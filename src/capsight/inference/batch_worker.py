"""The micro-batcher's worker thread: forming each batch, running the model on it, resolving futures.

Split from ``batcher.py``, which keeps the batcher object and admission (tickets, the bounded
queue, shutdown): this is the one dedicated thread that takes whatever is queued, waits for more
only while admitted images are still being decoded, calls ``predict`` once per batch, retries a
failed batch image by image, and hands each caller its own row back on the event loop.
:class:`BatchWorker` is a mixin of :class:`~capsight.inference.batcher.MicroBatcher`; the
attributes it declares are the batcher's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter, deque
from typing import TYPE_CHECKING

import numpy as np

from capsight.errors import InferenceFailed
from capsight.inference.classifier import NOT_FINITE, scored

if TYPE_CHECKING:
    from capsight.inference.batcher import BatchObserver, PredictFn, _Item

# The batcher's logger, as before this module was split from batcher.py: the same name in the log.
logger = logging.getLogger("capsight.inference.batcher")

BATCH_REFUSALS_TO_STOP_BATCHING = 3


class BatchWorker:
    """The part of :class:`~capsight.inference.batcher.MicroBatcher` that runs on its worker thread."""

    max_batch_size: int
    max_wait: float
    _predict: PredictFn
    _on_batch: BatchObserver | None
    _cond: threading.Condition
    _pending: deque[_Item]
    _reserved: int
    _batches_refused: int
    _closing: bool
    _loop: asyncio.AbstractEventLoop | None
    _batches: int
    _items: int
    _failed: int
    _largest: int
    _sizes: Counter[int]

    def _take_batch(self) -> list[_Item] | None:
        with self._cond:
            while not self._pending and not self._closing:
                self._cond.wait()
            if self._closing:
                return None
            if len(self._pending) < self.max_batch_size and self._reserved > 0 and self.max_wait > 0:
                deadline = time.monotonic() + self.max_wait
                while len(self._pending) < self.max_batch_size and self._reserved > 0 and not self._closing:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            n = min(len(self._pending), self.max_batch_size)
            return [self._pending.popleft() for _ in range(n)]

    def _run(self) -> None:
        while True:
            items = self._take_batch()
            if items is None:
                return
            if items:
                self._run_batch(items)

    def _run_batch(self, items: list[_Item]) -> None:
        n = len(items)
        started = time.perf_counter()
        failed = False
        rows: list[np.ndarray | None]
        try:
            batch = items[0].row[None] if n == 1 else np.stack([item.row for item in items])
            rows = list(self._scores(batch, n))
            if n > 1:
                self._batches_refused = 0
        except Exception:
            # Details go to the log; clients get a plain 500 without the runtime's internals.
            logger.exception("inference failed for a batch of %d", n)
            failed = True
            # Each image is tried alone, so one image's fault does not fail its neighbours, and a
            # model that only runs one image at a time (a forward() that hard-codes the batch, which
            # passes the one-image warm-up) still answers: every request sharing a batch got a 500.
            rows = [self._alone(item.row) for item in items] if n > 1 else [None]
            if n > 1 and all(scores is not None for scores in rows):
                # Not one image's fault. When it happens BATCH_REFUSALS_TO_STOP_BATCHING times in a
                # row, the model cannot take batches: sending each batch whole first failed it again
                # (an error per batch in the log, two calls per image). Not at the first time: a
                # passing fault (memory short for one large batch) would have cost batching for good.
                self._batches_refused += 1
                if self._batches_refused >= BATCH_REFUSALS_TO_STOP_BATCHING:
                    self.max_batch_size = 1
                    logger.warning(
                        "the model failed on %d batches in a row but answered each image alone: it "
                        "runs one image at a time from now on (export it with a dynamic batch axis "
                        "to batch)",
                        self._batches_refused,
                    )
        elapsed = time.perf_counter() - started
        self._batches += 1
        self._items += n
        self._largest = max(self._largest, n)
        self._sizes[n] += 1
        if failed:
            self._failed += 1
        if self._on_batch is not None:
            try:
                self._on_batch(n, elapsed)
            except Exception:  # metrics must never break inference
                logger.exception("batch observer failed")
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            self._loop.call_soon_threadsafe(_resolve, items, rows)

    def _scores(self, batch: np.ndarray, n: int) -> np.ndarray:
        probs = np.asarray(self._predict(batch))
        if probs.ndim != 2 or probs.shape[0] != n:
            raise ValueError(f"predict returned shape {probs.shape} for a batch of {n}")
        unscored = int(n - np.isfinite(probs).all(axis=1).sum())
        if unscored:
            logger.warning("the model scored %d of a batch of %d with NaN or infinity", unscored, n)
        return probs

    def _alone(self, row: np.ndarray) -> np.ndarray | None:
        """``row``'s scores from a model call of its own, or None when that fails too."""
        try:
            return self._scores(row[None], 1)[0]
        except Exception as exc:
            logger.warning("inference failed for an image run alone: %s", exc)
            return None


def _resolve(items: list[_Item], rows: list[np.ndarray | None]) -> None:
    """Runs on the event loop: each future gets ITS row, or InferenceFailed when the model could not
    score it or scored it with NaN or infinity (a row JSON cannot carry, whose argmax is no answer;
    its neighbours are unaffected)."""
    for item, scores in zip(items, rows, strict=True):
        if item.future.done():  # the caller gave up (cancelled)
            continue
        if scores is None:
            item.future.set_exception(InferenceFailed())
        elif not scored(scores):
            item.future.set_exception(InferenceFailed(f"Inference failed: {NOT_FINITE}."))
        else:
            item.future.set_result(scores)
