"""The in-flight body budget on its own: a byte semaphore served in arrival order."""

from __future__ import annotations

import asyncio

import pytest

from capsight.api.body_budget import ByteBudget


def test_acquire_and_release_within_the_capacity() -> None:
    async def scenario() -> None:
        budget = ByteBudget(100)
        assert await budget.acquire(60, timeout=0) and await budget.acquire(40, timeout=0)
        assert budget.used == 100
        budget.release(60)
        budget.release(40)
        assert budget.used == 0

    asyncio.run(scenario())


def test_waiters_are_admitted_in_arrival_order_as_room_frees() -> None:
    async def scenario() -> None:
        budget = ByteBudget(100)
        assert await budget.acquire(80, timeout=0)
        big = asyncio.create_task(budget.acquire(50, timeout=30))
        await asyncio.sleep(0)
        small = asyncio.create_task(budget.acquire(10, timeout=30))  # fits, but the 50 came first
        await asyncio.sleep(0)
        assert budget.waiting == 2 and not small.done()
        budget.release(80)
        assert await big and await small
        assert budget.used == 60 and budget.waiting == 0

    asyncio.run(scenario())


def test_a_wait_that_runs_out_returns_false_and_lets_those_behind_it_in() -> None:
    async def scenario() -> None:
        budget = ByteBudget(100)
        assert await budget.acquire(80, timeout=0)
        big = asyncio.create_task(budget.acquire(50, timeout=0.05))
        await asyncio.sleep(0)
        small = asyncio.create_task(budget.acquire(10, timeout=30))
        await asyncio.sleep(0)
        assert budget.waiting == 2  # the 10 would fit, but queues behind the 50
        # Once the 50 gave up, the 10 behind it must not stay blocked.
        assert await big is False
        assert await asyncio.wait_for(small, 5) is True
        assert budget.used == 90 and budget.waiting == 0

    asyncio.run(scenario())


def test_a_cancelled_waiter_leaves_the_queue() -> None:
    async def scenario() -> None:
        budget = ByteBudget(100)
        assert await budget.acquire(100, timeout=0)
        waiter = asyncio.create_task(budget.acquire(10, timeout=30))
        await asyncio.sleep(0)
        assert budget.waiting == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert budget.waiting == 0
        budget.release(100)
        assert budget.used == 0

    asyncio.run(scenario())


def test_more_than_the_whole_budget_is_a_programming_error() -> None:
    async def scenario() -> None:
        with pytest.raises(ValueError):
            await ByteBudget(100).acquire(101, timeout=0)

    asyncio.run(scenario())
