"""JSON for the database's JSON columns (and a job's JSON body), a piece at a time.

Why: the C encoder and parser hold the GIL for the whole value they are given, and a URL job's
parameters are its whole list (100,000 URLs, 16 MB of JSON). Storing one (``POST /v1/jobs``) ran in
a worker thread, yet every other request waited the ~40 ms the encoding took, the event loop unable
to get the GIL back; parsing it (the body, and the row when a worker claims the job) ~20 ms.

``dumps`` encodes a slice of a long list at a time; its text is ``json.dumps``'s, byte for byte, so
rows written before and after read alike. ``loads`` parses a long text's objects and arrays one value
at a time (each value by the C scanner), about three times the CPU of ``json.loads`` and the GIL free
between values; anything it does not expect (bad JSON included) is left to ``json.loads`` itself, so
the value, or the error, is the same.

A client's body (``unique_keys=True``) may not hold a key twice in one object: ``json.loads`` keeps
the last value, and ``{"urls": [a], "urls": [b]}`` made by joining fragments was a job of ``b`` alone.
The database's own rows are read as before (the last wins), though they never repeat a key.
"""

from __future__ import annotations

import json
import re
from json.decoder import JSONDecoder
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


LONG_TEXT = 1_000_000  # characters: shorter texts are parsed whole (a few ms at most)
_scan = JSONDecoder().scan_once  # type: ignore[attr-defined]  # one value at an index, as json.loads
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]  # not in typeshed's stub
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace (json.decoder.WHITESPACE)


def _skip(s: str, i: int) -> int:
    """The index of the first character at or after ``i`` that is no whitespace."""
    space = _SPACE.match(s, i)
    return space.end() if space else i


class DuplicateKey(ValueError):
    """A key given twice in one JSON object of a text read with ``unique_keys=True``."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key[:100]!r} is given more than once in one object")
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


_scan_unique = JSONDecoder(object_pairs_hook=_unique).scan_once  # type: ignore[attr-defined]


class _Unexpected(Exception):
    """Not what the piecewise parser handles: ``json.loads`` parses it (or says what is wrong)."""


def loads(text: str | bytes, *, unique_keys: bool = False) -> Any:
    """``json.loads(text)``, a long text's objects and arrays a value at a time; ``DuplicateKey``
    for a key twice in one object, at any depth, with ``unique_keys``."""
    hook = _unique if unique_keys else None
    if isinstance(text, bytes | bytearray):
        if len(text) < LONG_TEXT:
            return json.loads(text, object_pairs_hook=hook)
        text = text.decode(json.detect_encoding(text), "surrogatepass")  # as json.loads does
    if len(text) < LONG_TEXT or text.startswith("\ufeff"):
        return json.loads(text, object_pairs_hook=hook)  # a BOM: json.loads refuses it, in its words
    try:
        value, end = _value(text, _skip(text, 0), unique_keys)
        if _skip(text, end) != len(text):
            raise _Unexpected
    except DuplicateKey:
        raise
    except (_Unexpected, StopIteration, ValueError, IndexError, RecursionError):
        return json.loads(text, object_pairs_hook=hook)
    return value


def _value(s: str, i: int, unique: bool) -> tuple[Any, int]:
    if s[i] == "{":
        return _object(s, _skip(s, i + 1), unique)
    if s[i] == "[":
        return _array(s, _skip(s, i + 1), unique)
    return (_scan_unique if unique else _scan)(s, i)


def _object(s: str, i: int, unique: bool) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    if s[i] == "}":
        return out, i + 1
    while True:
        if s[i] != '"':
            raise _Unexpected
        key, i = _scanstring(s, i + 1, True)
        if unique and key in out:
            raise DuplicateKey(key)
        i = _skip(s, i)
        if s[i] != ":":
            raise _Unexpected
        out[key], i = _value(s, _skip(s, i + 1), unique)
        i = _skip(s, i)
        if s[i] == "}":
            return out, i + 1
        if s[i] != ",":
            raise _Unexpected
        i = _skip(s, i + 1)


def _array(s: str, i: int, unique: bool) -> tuple[list[Any], int]:
    out: list[Any] = []
    if s[i] == "]":
        return out, i + 1
    scan = _scan_unique if unique else _scan
    while True:
        value, i = scan(s, i)  # a nested object or array whole: a URL list's values are strings
        out.append(value)
        i = _skip(s, i)
        if s[i] == "]":
            return out, i + 1
        if s[i] != ",":
            raise _Unexpected
        i = _skip(s, i + 1)


# What the database engine takes for its JSON columns (``Database``).
ENGINE_ARGS: dict[str, Any] = {"json_serializer": dumps, "json_deserializer": loads}
