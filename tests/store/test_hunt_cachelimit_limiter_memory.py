"""The in-process limiter's memory per client is its hits, not a fixed ~1 KB.

Each client's log was a ``deque``, which allocates a 64-slot block up front: a client with a single
hit in the window cost ~960 bytes, so a ``1/day`` limit (or the auth failure limit) over a million
addresses held ~1 GB per worker. The log is kept sorted in a plain list now (~290 bytes, the
address included).
"""

from __future__ import annotations

import tracemalloc

from capsight.store.ratelimit import InProcessRateLimiter, parse_rate

CLIENTS = 20_000


def test_a_client_with_one_hit_costs_a_few_hundred_bytes() -> None:
    limiter = InProcessRateLimiter(clock=lambda: 1000.0)
    rate = parse_rate("1/day")
    keys = [f"ip:10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(CLIENTS)]
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for key in keys:
            assert limiter.hit_sync(key, rate).allowed
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(limiter) == CLIENTS
    per_client = (after - before) / CLIENTS
    assert per_client < 400, f"{per_client:.0f} bytes per client"


def test_the_window_still_slides_with_many_hits_per_client() -> None:
    now = [0.0]
    limiter = InProcessRateLimiter(clock=lambda: now[0])
    rate = parse_rate("3/10 seconds")
    for t in (0.0, 1.0, 2.0):
        now[0] = t
        assert limiter.hit_sync("c", rate).allowed
    now[0] = 9.9
    denied = limiter.hit_sync("c", rate)
    assert not denied.allowed and abs(denied.reset_after - 0.1) < 1e-9
    now[0] = 10.0  # the hit at 0.0 leaves the window exactly now
    allowed = limiter.hit_sync("c", rate)
    assert allowed.allowed and allowed.remaining == 0 and allowed.reset_after == 1.0
    limiter.release_sync("c", rate, allowed.token)
    assert limiter.hit_sync("c", rate, record=False).remaining == 1
    now[0] = 12.5  # 1.0 and 2.0 have left, and 10.0 was given back
    assert limiter.hit_sync("c", rate, record=False).remaining == 3 - 0
