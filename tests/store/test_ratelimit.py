"""Rate parsing and the in-process sliding-window limiter."""

from __future__ import annotations

import asyncio
import time

import pytest

from capsight.store.ratelimit import InProcessRateLimiter, Rate, parse_rate


@pytest.mark.parametrize(
    ("text", "limit", "window"),
    [
        ("100/minute", 100, 60.0),
        ("10/second", 10, 1.0),
        ("1000/hour", 1000, 3600.0),
        ("5/day", 5, 86400.0),
        ("20/m", 20, 60.0),
        ("3/s", 3, 1.0),
        ("5 per 10 seconds", 5, 10.0),
        ("7/2minutes", 7, 120.0),
        (" 100 / MINUTE ", 100, 60.0),
    ],
)
def test_parse_rate_accepts_common_forms(text: str, limit: int, window: float) -> None:
    assert parse_rate(text) == Rate(limit=limit, window_s=window)


@pytest.mark.parametrize(
    "text", ["", "100", "minute", "100/fortnight", "0/minute", "-1/second", "1/0minute", "x/s"]
)
def test_parse_rate_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


class FakeClock:
    """Deterministic time for window arithmetic; the real clock is covered by the sleep test below."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_allows_limit_then_denies_until_oldest_hit_expires() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock)
    rate = parse_rate("3/second")
    results = []
    for offset in (0.0, 0.1, 0.2, 0.3):
        clock.now = 1000.0 + offset
        results.append(limiter.hit_sync("client", rate))
    assert [d.allowed for d in results] == [True, True, True, False]
    assert [d.remaining for d in results] == [2, 1, 0, 0]
    denied = results[-1]
    assert denied.reset_after == pytest.approx(0.7)  # first hit (t=0.0) leaves the window at t=1.0
    assert denied.headers == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1",
        "Retry-After": "1",
    }
    # Sliding, not fixed: at t=1.05 only the first hit has expired, so exactly one slot is free.
    clock.now = 1001.05
    assert limiter.hit_sync("client", rate).allowed
    assert not limiter.hit_sync("client", rate).allowed
    # A denied hit is not counted: once all accepted hits are older than the window, all 3 are back.
    clock.now = 1002.1
    assert [limiter.hit_sync("client", rate).remaining for _ in range(3)] == [2, 1, 0]


def test_allowed_decision_has_no_retry_after_and_keys_are_independent() -> None:
    limiter = InProcessRateLimiter(clock=FakeClock())
    rate = parse_rate("1/minute")
    first = limiter.hit_sync("a", rate)
    assert first.allowed and "Retry-After" not in first.headers
    assert first.headers["X-RateLimit-Reset"] == "60"
    assert not limiter.hit_sync("a", rate).allowed
    assert limiter.hit_sync("b", rate).allowed


def test_async_hit_with_real_clock_recovers_after_the_window() -> None:
    limiter = InProcessRateLimiter()

    async def burst() -> list[bool]:
        return [(await limiter.hit("k", "3/second")).allowed for _ in range(4)]

    assert asyncio.run(burst()) == [True, True, True, False]
    time.sleep(1.05)
    assert asyncio.run(burst()) == [True, True, True, False]


def test_invalid_rate_raises_value_error_from_hit() -> None:
    with pytest.raises(ValueError):
        asyncio.run(InProcessRateLimiter().hit("k", "lots"))


def test_sweep_forgets_idle_clients() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock, sweep_every=3)
    rate = parse_rate("5/second")
    limiter.hit_sync("old-1", rate)
    limiter.hit_sync("old-2", rate)
    clock.now += 2.0
    limiter.hit_sync("new", rate)  # third hit triggers the sweep
    assert len(limiter) == 1


def test_asking_without_recording_counts_nothing() -> None:
    """``record=False`` (the failed-authentication check) answers whether one more hit would be
    allowed and leaves the window as it was."""
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock)
    rate = parse_rate("2/minute")
    clock.now = 1000.0
    assert [limiter.hit_sync("ip", rate, record=False).allowed for _ in range(5)] == [True] * 5
    limiter.hit_sync("ip", rate)
    clock.now = 1010.0
    limiter.hit_sync("ip", rate)
    peek = limiter.hit_sync("ip", rate, record=False)
    assert not peek.allowed and peek.reset_after == pytest.approx(50.0)
    clock.now = 1060.5  # the first hit left the window; the peeks never entered it
    assert limiter.hit_sync("ip", rate, record=False).allowed
    assert limiter.hit_sync("ip", rate).allowed
    assert not limiter.hit_sync("ip", rate, record=False).allowed
