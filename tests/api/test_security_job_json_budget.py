"""A JSON job request (``{"urls": [...]}``, up to 16 MiB) counts against the in-flight body budget.

Why: ``POST /v1/jobs`` was exempt from CAPSIGHT_MAX_INFLIGHT_BODY_BYTES as a whole, because a zip
upload streams to disk; but a JSON body is read into memory and parsed there. 32 parallel JSON
bodies of 16 MB (a few URLs and a long list of numbers) took a server from 163 MB to 717 MB of RSS
while the budget, meant to stop exactly that, saw nothing. Only the zip upload stays exempt.
"""

from __future__ import annotations

import json
import socket

import pytest
from test_api_body_budget import (
    Answer,
    HeldUpload,
    ServerFactory,
    _body,
    _connect,
    _post,
    _wait_for_gauge,
    budget_server,  # noqa: F401  (a fixture)
)

pytestmark = pytest.mark.slow


def _held_json(url: str, body: bytes) -> socket.socket:
    """A JSON job request that declared its whole body and sent its first 100 bytes."""
    sock = _connect(url)
    host = url.removeprefix("http://")
    head = (
        f"POST /v1/jobs HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
        "Content-Type: application/json\r\n\r\n"
    ).encode()
    sock.sendall(head + body[:100])
    return sock


def test_a_json_job_body_holds_its_share_of_the_budget(budget_server: ServerFactory) -> None:  # noqa: F811
    with budget_server(0.5) as url:
        body = json.dumps({"urls": ["http://images.example/a.jpg"], "pad": "x" * 700_000}).encode()
        sock = _held_json(url, body)
        try:
            _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == len(body))
            refused = _post(url, "/v1/classify", _body(400_000))
            assert refused.status == 503, refused.json
            sock.sendall(body[100:])
            answer = Answer(sock)
            assert answer.status == 400  # "pad" is no field of a job request
        finally:
            sock.close()
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == 0)
        held = HeldUpload(url, _body(700_000))
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == len(held.body))
        assert held.finish().status == 200
