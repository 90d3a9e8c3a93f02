"""The in-process limiter's memory per client is bounded whatever the limit, and still never over it.

A sliding log keeps one timestamp per accepted hit: under ``100000/day`` a busy client held 100,000
floats (~3.2 MB per client per worker, measured with tracemalloc). Above ``EXACT_LOG_MAX`` hits per
window the limiter counts hits in ``BUCKETS_PER_WINDOW`` buckets per window instead, and a bucket
counts until its whole span has left the window: never more than the limit in any window, and a
refused client waits at most one bucket longer than with the exact log.
"""

from __future__ import annotations

import bisect
import random
import tracemalloc

from capsight.store.ratelimit import BUCKETS_PER_WINDOW, EXACT_LOG_MAX, InProcessRateLimiter, parse_rate


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_busy_client_under_a_big_limit_keeps_a_bounded_number_of_entries() -> None:
    clock = Clock(1000.0)
    limiter = InProcessRateLimiter(clock=clock)
    rate = parse_rate("100000/day")
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(10_000):
            clock.now += 8.64  # 10,000 hits spread over one day: every bucket of the window used
            assert limiter.hit_sync("client", rate).allowed
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert limiter.entries("client", rate) <= BUCKETS_PER_WINDOW + 1
    assert after - before < 20_000, f"{after - before} bytes for one client"  # was ~326,000


def test_small_limits_keep_the_exact_log() -> None:
    clock = Clock(1.0)
    limiter = InProcessRateLimiter(clock=clock)
    rate = parse_rate(f"{EXACT_LOG_MAX}/10 seconds")
    for _ in range(EXACT_LOG_MAX):
        assert limiter.hit_sync("c", rate).allowed
    assert limiter.entries("c", rate) == EXACT_LOG_MAX
    clock.now = 11.0  # exactly when the hits at 1.0 leave: no bucket's extra wait
    assert limiter.hit_sync("c", rate).allowed


def test_never_more_than_the_limit_in_any_window_at_the_bucket_boundary() -> None:
    clock = Clock(0.05)  # the first bucket spans [0, 10/128 = 0.078125)
    limiter = InProcessRateLimiter(clock=clock)
    rate = parse_rate("300/10 seconds")
    assert all(limiter.hit_sync("c", rate).allowed for _ in range(300))
    clock.now = 10.05  # the exact log would drop the hits at 0.05 now: their bucket has not left
    refused = limiter.hit_sync("c", rate)
    assert not refused.allowed
    assert abs(refused.reset_after - (0.078125 + 10 - 10.05)) < 1e-9
    clock.now = 10.078125
    assert limiter.hit_sync("c", rate).allowed


def test_retry_after_is_when_the_oldest_counted_bucket_leaves() -> None:
    clock = Clock(0.5)
    limiter = InProcessRateLimiter(clock=clock)
    rate = parse_rate("1000/128 seconds")  # 1 s buckets
    for _ in range(600):
        assert limiter.hit_sync("c", rate).allowed
    clock.now = 3.25
    for _ in range(400):
        assert limiter.hit_sync("c", rate).allowed
    clock.now = 100.0
    refused = limiter.hit_sync("c", rate)
    assert not refused.allowed
    assert refused.reset_after == 1.0 + 128 - 100.0  # the bucket [0, 1) leaves at 129
    assert refused.headers["Retry-After"] == "29" and refused.headers["X-RateLimit-Reset"] == "29"
    clock.now = 128.999
    assert not limiter.hit_sync("c", rate, record=False).allowed
    clock.now = 129.0
    allowed = limiter.hit_sync("c", rate)
    assert allowed.allowed and allowed.remaining == 599  # 600 left with their bucket, 1 taken now
    assert allowed.reset_after == 4.0 + 128 - 129.0  # next: the bucket [3, 4)


def test_a_random_load_never_exceeds_the_limit_and_refusals_are_at_most_one_bucket_early() -> None:
    clock = Clock(0.0)
    limiter = InProcessRateLimiter(clock=clock)
    rate = parse_rate("400/10 seconds")
    width = rate.window_s / BUCKETS_PER_WINDOW
    accepted: list[float] = []  # in time order: hits accepted after a time are counted by bisection

    def accepted_after(time: float) -> int:
        return len(accepted) - bisect.bisect_right(accepted, time)

    refused = 0
    rng = random.Random(7)
    for _ in range(20_000):
        # ~80 hits a second against 40 allowed: about half are refused (with a 0.3 s step among
        # these the load stayed under the limit and not one hit was refused: nothing was checked)
        clock.now += rng.choice((0.0, 0.0, 0.001, 0.01, 0.05))
        if limiter.hit_sync("c", rate).allowed:
            accepted.append(clock.now)
            assert accepted_after(clock.now - rate.window_s) <= rate.limit
        else:
            refused += 1
            # refused only if the limit was reached counting at most one bucket more than the window
            assert accepted_after(clock.now - rate.window_s - width) >= rate.limit
    assert len(accepted) > 3 * rate.limit  # the load went on across several windows
    assert refused > 3 * rate.limit  # and kept running into the limit


def test_a_bucketed_hit_can_be_given_back() -> None:
    clock = Clock(0.0)
    limiter = InProcessRateLimiter(clock=clock)
    rate = parse_rate("300/minute")
    tokens = [limiter.hit_sync("c", rate).token for _ in range(300)]
    assert not limiter.hit_sync("c", rate, record=False).allowed
    limiter.release_sync("c", rate, tokens[-1])
    assert limiter.hit_sync("c", rate, record=False).remaining == 1
    assert limiter.hit_sync("c", rate).allowed
    assert not limiter.hit_sync("c", rate).allowed


def test_sweep_forgets_clients_whose_buckets_have_all_left() -> None:
    clock = Clock(0.0)
    limiter = InProcessRateLimiter(clock=clock, sweep_every=4)
    rate = parse_rate("1000/128 seconds")  # 1 s buckets
    limiter.hit_sync("old", rate)  # bucket [0, 1): counted until 129
    clock.now = 128.5
    limiter.hit_sync("new", rate)
    limiter.hit_sync("new", rate)
    limiter.hit_sync("new", rate)  # the sweep: "old" still counts
    assert len(limiter) == 2
    clock.now = 129.0
    for _ in range(4):
        limiter.hit_sync("new", rate)
    assert len(limiter) == 1 and limiter.entries("old", rate) == 0
