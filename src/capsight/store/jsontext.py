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


class _Unexpected(Exception):
    """Not what the piecewise parser handles: ``json.loads`` parses it (or says what is wrong)."""


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``, a long text's objects and arrays a value at a time."""
    if isinstance(text, bytes | bytearray):
        if len(text) < LONG_TEXT:
            return json.loads(text)
        text = text.decode(json.detect_encoding(text), "surrogatepass")  # as json.loads does
    if len(text) < LONG_TEXT or text.startswith("\ufeff"):
        return json.loads(text)  # a BOM: json.loads refuses it, in its words
    try:
        value, end = _value(text, _skip(text, 0))
        if _skip(text, end) != len(text):
            raise _Unexpected
    except (_Unexpected, StopIteration, ValueError, IndexError, RecursionError):
        return json.loads(text)
    return value


def _value(s: str, i: int) -> tuple[Any, int]:
    if s[i] == "{":
        return _object(s, _skip(s, i + 1))
    if s[i] == "[":
        return _array(s, _skip(s, i + 1))
    return _scan(s, i)


def _object(s: str, i: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    if s[i] == "}":
        return out, i + 1
    while True:
        if s[i] != '"':
            raise _Unexpected
        key, i = _scanstring(s, i + 1, True)
        i = _skip(s, i)
        if s[i] != ":":
            raise _Unexpected
        out[key], i = _value(s, _skip(s, i + 1))
        i = _skip(s, i)
        if s[i] == "}":
            return out, i + 1
        if s[i] != ",":
            raise _Unexpected
        i = _skip(s, i + 1)


def _array(s: str, i: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    if s[i] == "]":
        return out, i + 1
    while True:
        value, i = _scan(s, i)  # a nested object or array whole: a URL list's values are strings
        out.append(value)
        i = _skip(s, i)
        if s[i] == "]":
            return out, i + 1
        if s[i] != ",":
            raise _Unexpected
        i = _skip(s, i + 1)


# What the database engine takes for its JSON columns (``Database``).
ENGINE_ARGS: dict[str, Any] = {"json_serializer": dumps, "json_deserializer": loads}
