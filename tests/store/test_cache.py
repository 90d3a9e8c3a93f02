"""The in-process LRU result cache."""

from __future__ import annotations

import asyncio
import threading

import pytest

from capsight.store.cache import LRUCache


def test_get_returns_what_was_set_and_misses_unknown_keys() -> None:
    cache = LRUCache(4)

    async def scenario() -> tuple[object, object]:
        await cache.set("v1:abc", {"label": "closed", "probabilities": {"closed": 0.9}})
        return await cache.get("v1:abc"), await cache.get("v1:other")

    hit, miss = asyncio.run(scenario())
    assert hit == {"label": "closed", "probabilities": {"closed": 0.9}}
    assert miss is None
    assert (cache.hits, cache.misses) == (1, 1)


def test_least_recently_used_entry_is_evicted() -> None:
    cache = LRUCache(2)
    cache.set_sync("a", {"n": 1})
    cache.set_sync("b", {"n": 2})
    assert cache.get_sync("a") == {"n": 1}  # "a" is now the most recent
    cache.set_sync("c", {"n": 3})
    assert cache.get_sync("b") is None
    assert cache.get_sync("a") == {"n": 1}
    assert cache.get_sync("c") == {"n": 3}
    assert len(cache) == 2


def test_returned_values_are_independent_copies() -> None:
    cache = LRUCache(2)
    cache.set_sync("k", {"probabilities": {"closed": 0.9}})
    got = cache.get_sync("k")
    assert got is not None
    got["probabilities"]["closed"] = 0.0
    assert cache.get_sync("k") == {"probabilities": {"closed": 0.9}}


def test_values_that_are_not_json_are_refused_like_redis_would() -> None:
    with pytest.raises(TypeError):
        LRUCache(2).set_sync("k", {"bad": object()})


def test_zero_size_is_refused() -> None:
    with pytest.raises(ValueError):
        LRUCache(0)


def test_concurrent_writers_keep_the_bound() -> None:
    cache = LRUCache(50)

    def writer(prefix: str) -> None:
        for i in range(500):
            cache.set_sync(f"{prefix}{i}", {"i": i})
            cache.get_sync(f"{prefix}{i // 2}")

    threads = [threading.Thread(target=writer, args=(p,)) for p in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 50
    # The globally last write is still there, whichever thread made it.
    assert any(cache.get_sync(f"{p}499") == {"i": 499} for p in "abcd")
