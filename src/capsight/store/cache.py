"""The in-process result cache: a thread-safe LRU of JSON-encoded results.

Values are stored as JSON text, like the Redis cache stores them, so both backends hand back equal,
independent copies: a caller mutating a returned dict can never corrupt the cached entry, and a
value that would not survive Redis fails the same way in-process.

The cache is bounded in bytes as well as entries: an entry holds every class probability, so its size
grows with the model's labels (~250 bytes for 3 classes, ~20 KB for 1,000), and an entry count alone
would let a many-class model hold hundreds of MB per worker.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any


class LRUCache:
    """At most ``max_entries`` results and ``max_bytes`` of stored text (keys and JSON values; 0: no
    byte bound); the least recently used entries are evicted first."""

    def __init__(self, max_entries: int, max_bytes: int = 0) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1 (use no cache to disable caching)")
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0 (0: no byte bound)")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
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
        size = _size(key, text)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.bytes -= _size(key, old)
            if self.max_bytes and size > self.max_bytes:
                return  # would evict everything else and still not fit: not worth caching
            self._data[key] = text
            self.bytes += size
            while len(self._data) > self.max_entries or (self.max_bytes and self.bytes > self.max_bytes):
                oldest, evicted = self._data.popitem(last=False)
                self.bytes -= _size(oldest, evicted)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._data)


def _size(key: str, text: str) -> int:
    """Bytes an entry counts for: its key and JSON text (ASCII, as ``json.dumps`` escapes the rest)."""
    return len(key) + len(text)
