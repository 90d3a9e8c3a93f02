"""The in-process result cache: a thread-safe LRU of JSON-encoded results.

Values are stored as JSON text, like the Redis cache stores them, so both backends hand back equal,
independent copies: a caller mutating a returned dict can never corrupt the cached entry, and a
value that would not survive Redis fails the same way in-process.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any


class LRUCache:
    """At most ``max_entries`` results; the least recently used entry is evicted first."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1 (use no cache to disable caching)")
        self.max_entries = max_entries
        self._data: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    async def get(self, key: str) -> dict[str, Any] | None:
        return self.get_sync(key)

    async def set(self, key: str, value: dict[str, Any]) -> None:
        self.set_sync(key, value)

    def get_sync(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            text = self._data.get(key)
            if text is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
        result: dict[str, Any] = json.loads(text)
        return result

    def set_sync(self, key: str, value: dict[str, Any]) -> None:
        text = json.dumps(value, separators=(",", ":"))
        with self._lock:
            self._data[key] = text
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
