"""The micro-batcher: right row to the right caller, real batching, bounded queue, failure isolation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import numpy as np
import pytest

from capsight.errors import InferenceFailed, Overloaded, ServiceUnavailable
from capsight.inference.batcher import MicroBatcher

T = TypeVar("T")


def row(value: float) -> np.ndarray:
    return np.full((3, 2, 2), value, dtype=np.float32)


class EchoModel:
    """Each output row carries the input row's value: a result landing at the wrong caller shows."""

    def __init__(self, gate: threading.Event | None = None, fail_on: set[int] | None = None) -> None:
        self.gate = gate
        self.fail_on = fail_on or set()
        self.batches: list[list[float]] = []
        self.entered = threading.Event()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=10)
        values = [float(x) for x in batch[:, 0, 0, 0]]
        self.batches.append(values)
        if self.fail_on.intersection(int(v) for v in values):
            raise RuntimeError("model exploded")
        return np.stack([np.array([v, -v], dtype=np.float32) for v in values])


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(coro_fn())  # type: ignore[arg-type]


async def _with_batcher(batcher: MicroBatcher, body: Callable[[], Awaitable[T]]) -> T:
    batcher.start()
    try:
        return await body()
    finally:
        await batcher.stop()


def test_each_caller_gets_its_own_row() -> None:
    model = EchoModel()
    batcher = MicroBatcher(model, max_batch_size=4, max_wait_ms=1)

    async def body() -> list[np.ndarray]:
        return await asyncio.gather(*(batcher.infer(row(i)) for i in range(23)))

    results = run(lambda: _with_batcher(batcher, body))
    assert [float(r[0]) for r in results] == [float(i) for i in range(23)]
    assert all(r.shape == (2,) for r in results)
    stats = batcher.stats()
    assert stats.items == 23 and stats.largest_batch <= 4
    assert sum(size * n for size, n in stats.sizes.items()) == 23


def test_requests_arriving_during_a_model_call_form_one_batch() -> None:
    gate = threading.Event()
    model = EchoModel(gate=gate)
    batcher = MicroBatcher(model, max_batch_size=16, max_wait_ms=0)

    async def body() -> list[np.ndarray]:
        first = asyncio.ensure_future(batcher.infer(row(0)))
        while not model.entered.is_set():
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(batcher.infer(row(i))) for i in range(1, 11)]
        await asyncio.sleep(0.01)
        gate.set()
        return await asyncio.gather(first, *rest)

    results = run(lambda: _with_batcher(batcher, body))
    assert [float(r[0]) for r in results] == [float(i) for i in range(11)]
    assert model.batches == [[0.0], [float(i) for i in range(1, 11)]]
    assert batcher.stats().mean_batch_size == pytest.approx(11 / 2)


def test_max_batch_size_is_respected() -> None:
    gate = threading.Event()
    model = EchoModel(gate=gate)
    batcher = MicroBatcher(model, max_batch_size=3, max_wait_ms=0)

    async def body() -> None:
        futures = [asyncio.ensure_future(batcher.infer(row(i))) for i in range(10)]
        await asyncio.sleep(0.01)
        gate.set()
        await asyncio.gather(*futures)

    run(lambda: _with_batcher(batcher, body))
    assert max(len(b) for b in model.batches) == 3
    assert sorted(v for b in model.batches for v in b) == [float(i) for i in range(10)]


def test_waits_for_admitted_images_still_being_decoded() -> None:
    model = EchoModel()
    batcher = MicroBatcher(model, max_batch_size=8, max_wait_ms=2_000)

    async def body() -> list[np.ndarray]:
        first, second = batcher.reserve(2)
        a = first.submit(row(1))
        await asyncio.sleep(0.02)  # "decoding" the second image
        b = second.submit(row(2))
        return await asyncio.gather(a, b)

    run(lambda: _with_batcher(batcher, body))
    assert model.batches == [[1.0, 2.0]]


class _RecordedCondition(threading.Condition):
    """The batcher's condition: its worker's waits for more work (the timed ones) are recorded,
    each as whether it was woken (True) or ran out (False)."""

    def __init__(self) -> None:
        super().__init__()
        self.timed: list[bool] = []
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is None:  # idle: nothing queued
            return super().wait()
        self.waiting.set()
        woken = super().wait(timeout)
        self.timed.append(woken)
        return woken


def _recorded(batcher: MicroBatcher) -> _RecordedCondition:
    cond = batcher._cond = _RecordedCondition()
    return cond


def test_does_not_wait_when_nothing_else_is_coming() -> None:
    model = EchoModel()
    batcher = MicroBatcher(model, max_batch_size=8, max_wait_ms=5_000)
    cond = _recorded(batcher)

    async def body() -> np.ndarray:
        return await batcher.infer(row(1))

    run(lambda: _with_batcher(batcher, body))
    assert model.batches == [[1.0]]
    assert cond.timed == []  # a lone request is not held back for max_wait (5 s, before)


def test_a_cancelled_reservation_stops_the_wait() -> None:
    """Staged: the reservation is cancelled once the worker waits for its image; a max_wait no test
    outlasts (30 s), so a wait that ran out is one the cancel did not end."""
    model = EchoModel()
    batcher = MicroBatcher(model, max_batch_size=8, max_wait_ms=30_000)
    cond = _recorded(batcher)

    async def body() -> np.ndarray:
        first, second = batcher.reserve(2)
        future = first.submit(row(1))
        while not cond.waiting.is_set():  # the worker waits for the second image
            await asyncio.sleep(0.001)
        second.cancel()  # that image turned out bad: nobody else is coming
        return await future

    run(lambda: _with_batcher(batcher, body))
    assert model.batches == [[1.0]]
    assert cond.timed == [True], cond.timed  # woken by the cancel, not run out


def test_a_failing_batch_fails_only_its_own_callers() -> None:
    gate = threading.Event()
    model = EchoModel(gate=gate, fail_on={3})
    batcher = MicroBatcher(model, max_batch_size=4, max_wait_ms=0)

    async def body() -> list[object]:
        first = asyncio.ensure_future(batcher.infer(row(0)))
        while not model.entered.is_set():
            await asyncio.sleep(0.001)
        doomed = [asyncio.ensure_future(batcher.infer(row(i))) for i in (1, 2, 3)]
        await asyncio.sleep(0.01)
        gate.set()
        outcomes = await asyncio.gather(first, *doomed, return_exceptions=True)
        later = await batcher.infer(row(9))
        return [*outcomes, later]

    outcomes = run(lambda: _with_batcher(batcher, body))
    assert float(outcomes[0][0]) == 0.0  # type: ignore[index]
    # The failed batch's images were each tried alone: only the faulty one fails.
    assert [float(o[0]) for o in outcomes[1:3]] == [1.0, 2.0]  # type: ignore[index]
    assert isinstance(outcomes[3], InferenceFailed)
    assert model.batches[1:] == [[1.0, 2.0, 3.0], [1.0], [2.0], [3.0], [9.0]]
    assert float(outcomes[4][0]) == 9.0  # type: ignore[index]
    assert batcher.stats().failed_batches == 1


def test_a_wrong_output_shape_is_an_inference_failure() -> None:
    def one_row_too_many(batch: np.ndarray) -> np.ndarray:
        return np.zeros((len(batch) + 1, 2), dtype=np.float32)

    batcher = MicroBatcher(one_row_too_many, max_batch_size=4, max_wait_ms=0)

    async def body() -> list[object]:
        return await asyncio.gather(*(batcher.infer(row(i)) for i in range(4)), return_exceptions=True)

    outcomes = run(lambda: _with_batcher(batcher, body))
    assert all(isinstance(o, InferenceFailed) for o in outcomes)


def test_queue_bound_raises_overloaded_and_frees_on_cancel() -> None:
    batcher = MicroBatcher(EchoModel(), queue_max=3)
    tickets = batcher.reserve(3)
    assert batcher.depth == 3
    with pytest.raises(Overloaded) as err:
        batcher.reserve(1)
    assert err.value.retry_after >= 1
    with pytest.raises(Overloaded):
        batcher.check_capacity()
    tickets[0].cancel()
    tickets[0].cancel()  # a second cancel is a no-op
    assert batcher.depth == 2
    batcher.check_capacity(1)
    with pytest.raises(Overloaded):
        batcher.reserve(2)  # all or nothing
    assert batcher.depth == 2


def test_a_ticket_submits_once() -> None:
    batcher = MicroBatcher(EchoModel())

    async def body() -> None:
        (ticket,) = batcher.reserve(1)
        await ticket.submit(row(1))
        with pytest.raises(RuntimeError):
            ticket.submit(row(2))
        ticket.cancel()  # after submit: no effect on the count
        assert batcher.depth == 0

    run(lambda: _with_batcher(batcher, body))


def test_stop_fails_queued_work_and_refuses_new_work() -> None:
    gate = threading.Event()
    model = EchoModel(gate=gate)
    batcher = MicroBatcher(model, max_batch_size=1, max_wait_ms=0)

    async def body() -> None:
        batcher.start()
        running = asyncio.ensure_future(batcher.infer(row(0)))
        while not model.entered.is_set():
            await asyncio.sleep(0.001)
        queued = asyncio.ensure_future(batcher.infer(row(1)))
        await asyncio.sleep(0.01)
        stopping = asyncio.ensure_future(batcher.stop())
        await asyncio.sleep(0.01)
        gate.set()
        await stopping
        assert float((await running)[0]) == 0.0  # the batch in progress finishes
        with pytest.raises(ServiceUnavailable):
            await queued
        with pytest.raises(ServiceUnavailable):
            batcher.reserve(1)

    asyncio.run(body())
    assert not batcher.running


def test_cancelled_callers_do_not_disturb_the_others() -> None:
    gate = threading.Event()
    model = EchoModel(gate=gate)
    batcher = MicroBatcher(model, max_batch_size=8, max_wait_ms=0)

    async def body() -> float:
        first = asyncio.ensure_future(batcher.infer(row(0)))
        while not model.entered.is_set():
            await asyncio.sleep(0.001)
        impatient = asyncio.ensure_future(batcher.infer(row(1)))
        patient = asyncio.ensure_future(batcher.infer(row(2)))
        await asyncio.sleep(0.01)
        impatient.cancel()
        gate.set()
        await first
        return float((await patient)[0])

    assert run(lambda: _with_batcher(batcher, body)) == 2.0


def test_batch_observer_sees_every_batch_and_cannot_break_inference() -> None:
    seen: list[int] = []

    def observer(size: int, seconds: float) -> None:
        seen.append(size)
        raise ValueError("metrics backend broken")

    batcher = MicroBatcher(EchoModel(), max_batch_size=4, on_batch=observer)

    async def body() -> list[np.ndarray]:
        return await asyncio.gather(*(batcher.infer(row(i)) for i in range(5)))

    results = run(lambda: _with_batcher(batcher, body))
    assert len(results) == 5
    assert sum(seen) == 5


def test_invalid_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        MicroBatcher(EchoModel(), max_batch_size=0)
