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


def _many_label_entry(labels: int) -> dict[str, object]:
    """What a model with ``labels`` classes caches per image: every probability, ~35 bytes each."""
    probabilities = {f"class_{i:04d}": 1.0 / labels for i in range(labels)}
    return {"label": "class_0000", "confidence": 0.001, "probabilities": probabilities}


def test_the_cache_is_bounded_in_bytes_not_only_entries() -> None:
    """10,000 entries of a 1,000-class model (~20 KB each) would hold ~200 MB: the byte budget evicts."""
    cache = LRUCache(10_000, max_bytes=1_000_000)
    for i in range(100):
        cache.set_sync(f"model:1:{i:064x}", _many_label_entry(1000))
    assert cache.bytes <= 1_000_000
    assert 20 <= len(cache) < 100  # bounded by bytes, far below the entry bound
    assert cache.get_sync(f"model:1:{99:064x}") is not None  # the newest stay
    assert cache.get_sync(f"model:1:{0:064x}") is None  # the oldest went first


def test_an_entry_bigger_than_the_whole_budget_is_not_kept() -> None:
    cache = LRUCache(10, max_bytes=1_000)
    cache.set_sync("small", {"n": 1})
    cache.set_sync("huge", _many_label_entry(1000))
    assert cache.get_sync("huge") is None
    assert cache.get_sync("small") == {"n": 1}  # and it did not flush the others out
    assert cache.bytes <= 1_000


def test_replacing_an_entry_counts_its_bytes_once() -> None:
    cache = LRUCache(10, max_bytes=10_000)
    for _ in range(50):
        cache.set_sync("k", {"n": 1})
    assert len(cache) == 1 and 0 < cache.bytes < 100
    cache.clear()
    assert cache.bytes == 0
