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
import time
from collections.abc import Callable

import pytest

from capsight.api.routes.v2_decode import MAX_STRUCTURE, _check_structure
from capsight.errors import BadRequest


def _least_cpu(call: Callable[[], object], rounds: int = 7) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        call()
        best = min(best, time.process_time() - started)
    return best


def _request(images: int, size: int) -> bytes:
    data = [base64.b64encode(os.urandom(size)).decode("ascii") for _ in range(images)]
    tensor = {"name": "image", "shape": [images], "datatype": "BYTES", "data": data}
    return json.dumps({"inputs": [tensor]}).encode()


def test_checking_a_13_mb_request_costs_less_than_one_count_of_its_quotes() -> None:
    body = _request(32, 300_000)
    _check_structure(body, 32)  # a good request: no refusal
    one_pass = _least_cpu(lambda: body.count(b'"'))
    assert _least_cpu(lambda: _check_structure(body, 32)) < one_pass / 2


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
