"""The V2 structure check (brackets and quotes counted before the JSON is parsed) costs little.

Why: it counted each of ``[``, ``{`` and ``"`` over the whole header, three passes of ~3 ms each on
a 13 MB request of base64 images, more than parsing the JSON (~5 ms). A good request holds a few
dozen of them: found one by one (``bytes.find``, memchr), the check stops at the limit; a body past
it is counted in full, as before, for its answer to name how many it holds.
"""

from __future__ import annotations

import base64
import json
import os

import pytest

from capsight.api.routes.v2_decode import MAX_STRUCTURE, _check_structure
from capsight.errors import BadRequest


class _WatchedBytes(bytes):
    """Bytes that note which searches ran over them: how the check reads a body, not how fast."""

    calls: list[str]

    def count(self, sub: bytes, start: int | None = None, end: int | None = None, /) -> int:  # type: ignore[override]
        self.calls.append("count")
        return super().count(sub, start, end)

    def find(self, sub: bytes, start: int | None = None, end: int | None = None, /) -> int:  # type: ignore[override]
        self.calls.append("find")
        return super().find(sub, start, end)


def _watched(body: bytes) -> _WatchedBytes:
    watched = _WatchedBytes(body)
    watched.calls = []
    return watched


def _request(images: int, size: int) -> bytes:
    data = [base64.b64encode(os.urandom(size)).decode("ascii") for _ in range(images)]
    tensor = {"name": "image", "shape": [images], "datatype": "BYTES", "data": data}
    return json.dumps({"inputs": [tensor]}).encode()


def test_a_good_13_mb_request_is_never_counted_in_full() -> None:
    """A good request is searched once per bracket or quote it holds, and never counted whole.

    The cost itself is measured by bench/bench_json_bodies.py, not asserted here.
    """
    body = _watched(_request(32, 300_000))
    held = body.count(b"[") + body.count(b"{") + body.count(b'"')
    body.calls.clear()
    _check_structure(body, 32)  # a good request: no refusal
    assert "count" not in body.calls
    assert body.calls.count("find") == held + 3  # one search past the last of each of [, { and "


@pytest.mark.parametrize("char", [b"[", b"{", b'"'])
def test_a_body_past_the_limit_is_refused_naming_all_it_holds(char: bytes) -> None:
    limit = MAX_STRUCTURE + 2 * 32
    body = _request(1, 1_000)[:-2] + b"," + b",".join([char] * (limit * 3)) + b"]}"
    held = body.count(b"[") + body.count(b"{") + body.count(b'"')
    with pytest.raises(BadRequest) as refused:
        _check_structure(body, 32)
    assert refused.value.message.startswith(f"Invalid inference request: {held} brackets and quotes;")


def test_a_body_at_the_limit_passes() -> None:
    body = _request(1, 1_000)
    held = body.count(b"[") + body.count(b"{") + body.count(b'"')
    padded = body[:-2] + b',"' + b'","' * ((MAX_STRUCTURE + 2 * 32 - held) // 3 - 1) + b'"]}'
    assert padded.count(b"[") + padded.count(b"{") + padded.count(b'"') <= MAX_STRUCTURE + 64
    _check_structure(padded, 32)
