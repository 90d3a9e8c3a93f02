"""The micro-batcher under the faults a real model and real clients bring: rows a model cannot
score, callers that leave, observers that break."""

from __future__ import annotations

import asyncio
import threading

import numpy as np

from capsight.errors import InferenceFailed
from capsight.inference.batcher import MicroBatcher


def _row(value: float) -> np.ndarray:
    return np.full((3, 2, 2), value, dtype=np.float32)


class GatedEcho:
    """Scores row v as (v, -v), or NaN / infinity for the values in ``nan_on`` / ``inf_on``; the
    first call waits on ``gate`` so the next callers queue up into one batch."""

    def __init__(self, nan_on: frozenset[int] = frozenset(), inf_on: frozenset[int] = frozenset()) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.nan_on, self.inf_on = nan_on, inf_on
        self.batches: list[list[int]] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.entered.set()
        assert self.gate.wait(timeout=10)
        values = [int(v) for v in batch[:, 0, 0, 0]]
        self.batches.append(values)
        out = np.array([[v, -v] for v in values], dtype=np.float32)
        for i, v in enumerate(values):
            if v in self.nan_on:
                out[i, 0] = np.nan
            if v in self.inf_on:
                out[i, 1] = np.inf
        return out


async def _queued_behind_a_blocked_call(
    batcher: MicroBatcher, model: GatedEcho, values: list[int]
) -> list[object]:
    """Run ``values`` as one batch: the first caller blocks the model while the others queue."""
    first = asyncio.ensure_future(batcher.infer(_row(100)))
    await asyncio.to_thread(model.entered.wait, 10)
    # Submitted synchronously: all of them are queued before the model is let go.
    rest = [ticket.submit(_row(v)) for ticket, v in zip(batcher.reserve(len(values)), values, strict=True)]
    model.gate.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


def test_a_row_the_model_scored_nan_or_infinite_fails_alone() -> None:
    """A NaN row was returned as a prediction: the label was argmax over NaN, the request log and
    the result cache got NaN, and the response (JSON has no NaN) was an 'Internal error.'"""
    model = GatedEcho(nan_on=frozenset({2}), inf_on=frozenset({4}))
    batcher = MicroBatcher(model, max_batch_size=8, max_wait_ms=0)

    async def body() -> list[object]:
        batcher.start()
        try:
            return await _queued_behind_a_blocked_call(batcher, model, [1, 2, 3, 4, 5])
        finally:
            await batcher.stop()

    _first, *outcomes = asyncio.run(body())
    assert model.batches == [[100], [1, 2, 3, 4, 5]]  # the bad rows shared a batch with good ones
    assert isinstance(outcomes[1], InferenceFailed) and isinstance(outcomes[3], InferenceFailed)
    assert "NaN" in outcomes[1].message
    for value, outcome in zip([1, 3, 5], [outcomes[0], outcomes[2], outcomes[4]], strict=True):
        assert isinstance(outcome, np.ndarray) and float(outcome[0]) == value


def test_a_caller_that_left_gives_its_queue_place_back_and_is_not_run() -> None:
    """A client that disconnected while queued kept its place until the worker reached it: a queue
    filled by clients that had given up answered 503 to live ones, and the model scored the rows
    of nobody in the next batch."""
    model = GatedEcho()
    batcher = MicroBatcher(model, max_batch_size=8, max_wait_ms=0, queue_max=3)

    async def body() -> tuple[int, list[object]]:
        batcher.start()
        try:
            first = asyncio.ensure_future(batcher.infer(_row(100)))
            await asyncio.to_thread(model.entered.wait, 10)
            live, *gone = [t.submit(_row(v)) for t, v in zip(batcher.reserve(3), [1, 2, 3], strict=True)]
            for future in gone:
                future.cancel()
            await asyncio.gather(*gone, return_exceptions=True)  # their callbacks have run
            depth = batcher.depth
            late = [t.submit(_row(v)) for t, v in zip(batcher.reserve(2), [4, 5], strict=True)]
            model.gate.set()
            return depth, await asyncio.gather(first, live, *late)
        finally:
            await batcher.stop()

    depth, outcomes = asyncio.run(body())
    assert depth == 1
    assert [float(o[0]) for o in outcomes] == [100, 1, 4, 5]  # type: ignore[index]
    assert model.batches == [[100], [1, 4, 5]]


class FailsOnceOnABatch(GatedEcho):
    """A passing fault: the first call with more than one row fails (memory short, say), every other
    call works."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) > 1 and not self.failed:
            self.failed = True
            self.batches.append([int(v) for v in batch[:, 0, 0, 0]])
            raise RuntimeError("out of memory for this batch")
        return super().__call__(batch)


def test_one_passing_batch_fault_does_not_end_batching() -> None:
    """Its images are answered one by one, and the next batch is a batch again: going to one image
    at a time for good at the first such fault would cost the server its batching until restart."""
    model = FailsOnceOnABatch()
    batcher = MicroBatcher(model, max_batch_size=8, max_wait_ms=0)

    async def body() -> tuple[list[object], list[object]]:
        batcher.start()
        try:
            first = await _queued_behind_a_blocked_call(batcher, model, [1, 2, 3])
            model.gate.clear()
            model.entered.clear()
            second = await _queued_behind_a_blocked_call(batcher, model, [4, 5, 6])
            return first, second
        finally:
            await batcher.stop()

    first, second = asyncio.run(body())
    assert [float(o[0]) for o in first] == [100, 1, 2, 3]  # type: ignore[index]
    assert [float(o[0]) for o in second] == [100, 4, 5, 6]  # type: ignore[index]
    assert batcher.max_batch_size == 8
    assert [1, 2, 3] in model.batches and [4, 5, 6] in model.batches  # failed whole, then batched again
