"""What the API's JSON bodies (jobs, feedback, V2 inference requests) are held to beyond the parser.

Why: ``json.loads`` and pydantic keep the last value of a repeated key, so ``{"urls": [a], "urls":
[b]}`` (JSON made by hand, or by joining two fragments) was a job of ``b`` alone, and a feedback
with ``"label"`` twice recorded the last: accepted, the client never told its first value was
dropped. Here too: a small body's size bound (feedback), and the parser's complaints said in the
client's terms (a charset other than UTF-8, a BOM, an overlong number, a body that is no object).
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

from capsight.api.logtext import loggable
from capsight.errors import BadRequest, PayloadTooLarge
from capsight.store import jsontext
from capsight.store.jsontext import DuplicateKey

JSON_TYPE = "Content-Type: application/json"


def is_json_type(content_type: str) -> bool:
    """Whether a Content-Type header names JSON: ``application/json`` or a structured-syntax
    ``application/...+json`` type (RFC 6839: ``application/vnd.api+json`` of JSON:API clients),
    any case, any parameters. Why here: feedback took ``+json`` types while jobs refused them.
    V2 infer checks no type: tritonclient sends binary tensor data as application/octet-stream."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    main, _, subtype = media_type.partition("/")
    return main == "application" and (subtype == "json" or (subtype.endswith("+json") and len(subtype) > 5))


def sent_type(content_type: str) -> str:
    """``(this request has Content-Type 'text/plain')``: what a refusal of the type says was sent,
    the same on every route that reads a body of a given type."""
    sent = f"Content-Type '{loggable(content_type)}'" if content_type else "no Content-Type"
    return f"(this request has {sent})"


def repeated_key(exc: DuplicateKey) -> BadRequest:
    """The 400 for a key given twice in one object of the body."""
    return BadRequest(
        f"Invalid JSON: the key {exc.key[:100]!r} is given more than once in one object; "
        "send each key once (a JSON parser would keep only the last value)."
    )


def refuse_repeated_keys(body: str | bytes) -> None:
    """``repeated_key`` for a body holding a key twice in one object, at any depth; anything else
    wrong with the body is left to the parser that reads it next, which says so in its own words."""
    try:
        jsontext.loads(body, unique_keys=True)
    except DuplicateKey as exc:
        raise repeated_key(exc) from exc
    except (ValueError, RecursionError):
        return


async def read_json_body(request: Request, limit: int, too_large: str) -> bytes:
    """The body, refused with 413 (``too_large``) once it passes ``limit`` bytes, the rest unread.

    Why: a route whose JSON is a few fields parsed whatever the upload limit let through (16 MiB),
    on the event loop: a million unknown keys held every other request 7.6 s, and its 422 named
    each of them (41 MB). Jobs read their (larger) bodies the same way, with their own limit."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(too_large)
    return bytes(body)


def first_errors(errors: list[Any], most: int = 5) -> list[Any]:
    """At most ``most`` of pydantic's errors, the last one saying how many more there were: a body
    of thousands of unknown keys is as clearly refused by five of them."""
    if len(errors) <= most:
        return errors
    more = {"type": "more", "loc": ("body",), "msg": f"{len(errors) - most} more errors not shown"}
    return [*errors[:most], more]


def json_error(exc: ValueError) -> str:
    """What the parser found wrong, in the client's terms: a body in another charset names its first
    bad byte, not our codec; more after the JSON its byte offset, not a line and column; a number
    too long for Python's int drops the advice to our programmer (``use sys.set_int_max_str_digits()``)."""
    if isinstance(exc, UnicodeDecodeError):
        bad = exc.object[exc.start : exc.start + 1].hex()
        return f"the body is not UTF-8 (byte 0x{bad} at offset {exc.start}); send JSON as UTF-8"
    if isinstance(exc, json.JSONDecodeError) and exc.msg == "Extra data":  # 'line 1 column 43 (char 42)'
        offset = len(exc.doc[: exc.pos].encode()) if isinstance(exc.doc, str) else exc.pos
        return f"more follows the JSON value (at offset {offset}); send one JSON object"
    text = str(exc)
    digits = _TOO_MANY_DIGITS.search(text)
    if digits:
        return f"a number of more than {digits.group(1)} digits"
    return text


_TOO_MANY_DIGITS = re.compile(r"^Exceeds the limit \((\d+) digits\)")


def json_kind(value: Any) -> str:
    """``a JSON list``, ``JSON null``, ...: what a body that is not an object is."""
    if value is None:
        return "JSON null"
    if isinstance(value, bool):
        return f"JSON {str(value).lower()}"
    if isinstance(value, list):
        return "a JSON list"
    return "a JSON string" if isinstance(value, str) else "a JSON number"


class NotUtf8(ValueError):
    """A JSON body in a charset other than UTF-8 (or UTF-16/32 told by its first bytes): the message
    names its first bad byte, for each route to answer in its own status."""


def json_text(body: bytes) -> str | bytes:
    """The body's text, as ``json.loads`` reads it (a BOM, UTF-16 and UTF-32 told by their first
    bytes); ``NotUtf8`` naming the first bad byte of any other charset.

    Why one function for every JSON route (jobs, feedback, V2 infer): pydantic's parser reads UTF-8
    alone, so .NET and Windows PowerShell 5 (which write a BOM) had a job read where a feedback and
    a V2 request were refused 'expected value at line 1 column 1', and a Latin-1 body got 'invalid
    unicode code point at line 1 column 42' from one route and the byte's name from another.

    Why text: checking the bytes decoded them, and the parser given those bytes decoded them all
    again (1-29 ms of a 14 MB job body). Bytes come back only for a body whose first bytes look like
    UTF-16 or UTF-32 but that is UTF-8, and one whose text starts as if in another charset again:
    each parser reads them as it always did."""
    encoding = json.detect_encoding(body)
    if encoding != "utf-8":
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            pass  # UTF-16 by its first bytes, yet not: say where it is not UTF-8, as of any body
        else:  # text whose UTF-8 starts as UTF-16 or a BOM again (a BOM, then a NUL) was parsed from
            # that UTF-8 (json.loads telling its charset anew), and still is: its answer keeps its words
            return text if json.detect_encoding(text[:4].encode()) == "utf-8" else text.encode()
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise NotUtf8(json_error(exc)) from exc
    return text if encoding == "utf-8" else body
