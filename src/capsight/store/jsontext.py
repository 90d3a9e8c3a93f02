"""JSON for the database's JSON columns, written as ``json.dumps`` writes it, a slice at a time.

Why: the C encoder holds the GIL for the whole value it is given, and a URL job's parameters are its
whole list (100,000 URLs, 16 MB of JSON). Storing one (``POST /v1/jobs``) ran in a worker thread,
yet every other request waited the ~40 ms the encoding took, the event loop unable to get the GIL
back. Encoded a slice of the list at a time, the GIL can change hands between slices. The text is
the same, byte for byte, as ``json.dumps`` gives (same separators and escapes), so rows written
before and after read alike.
"""

from __future__ import annotations

import json
from typing import Any

# Items of a list encoded in one C call: 1,000 long URLs are ~160 KB of JSON, a fraction of a
# millisecond. Shorter lists, and everything but lists and the objects holding them, are encoded whole.
SLICE = 1000


def dumps(value: Any) -> str:
    """``json.dumps(value)``, with long lists (at any depth of JSON objects) encoded in slices."""
    if not _has_long_list(value):
        return json.dumps(value)
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def _has_long_list(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return len(value) > SLICE
    if isinstance(value, dict) and len(value) <= SLICE:
        return any(_has_long_list(v) for v in value.values())
    return False


def _encode(value: Any, parts: list[str]) -> None:
    if isinstance(value, list | tuple) and len(value) > SLICE:
        parts.append("[")
        for start in range(0, len(value), SLICE):
            if start:
                parts.append(", ")
            parts.append(json.dumps(list(value[start : start + SLICE]))[1:-1])
        parts.append("]")
    elif isinstance(value, dict) and all(isinstance(key, str) for key in value) and _has_long_list(value):
        # Keys that are not strings are converted (and checked) by json.dumps itself: whole, below.
        parts.append("{")
        for number, (key, item) in enumerate(value.items()):
            if number:
                parts.append(", ")
            parts.append(json.dumps(key))
            parts.append(": ")
            _encode(item, parts)
        parts.append("}")
    else:
        parts.append(json.dumps(value))
