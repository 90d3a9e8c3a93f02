"""A request uvicorn answers ``400 Invalid HTTP request received.`` after capsight has started on it
(a damaged chunk size in the body) is counted in /metrics as the 400 the client got.

Why: the app, reading the body, was told only that the connection ended (``http.disconnect``), and
counted the request as 499 "client closed request": a dashboard showed clients hanging up where
a client sent a broken body and was told so, and the server log said the client closed the
connection."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from api.helpers import metric_sample
from live_app import raw_answer, serve_process, wait_ready

PLAIN_400 = b"Invalid HTTP request received."
REQUESTS = "capsight_http_requests_total"
# A first chunk (the start of a JPEG) the app reads, then a chunk size that is no hex number.
DAMAGED = (
    b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4\r\n\xff\xd8\xff\xe0\r\nZZ\r\n"
)


def _classify_counts(url: str) -> dict[str, float]:
    """/metrics' counts of POST /classify by status, once the request has been counted (the app
    counts it when it sees the connection end, just after the client has its answer)."""
    deadline = time.monotonic() + 10
    while True:
        text = httpx.get(f"{url}/metrics", timeout=5).text
        counts: dict[str, float] = {}
        for status in ("400", "499"):
            with contextlib.suppress(AssertionError):  # no such sample
                counts[status] = metric_sample(
                    text, REQUESTS, endpoint="/classify", method="POST", status=status
                )
        if counts or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def test_a_damaged_chunked_body_is_counted_as_the_400_it_got(colour_model_dir: Path, tmp_path: Path) -> None:
    with serve_process(colour_model_dir, tmp_path) as server:
        wait_ready(server.url)
        answer = raw_answer(server.url, DAMAGED)
        counts = _classify_counts(server.url)
    assert answer.startswith(b"HTTP/1.1 400 ") and answer.endswith(PLAIN_400), answer[:300]
    assert counts == {"400": 1}


def test_a_client_that_hangs_up_mid_body_is_still_a_499(colour_model_dir: Path, tmp_path: Path) -> None:
    """The other way the app sees a body end early, which nobody answered."""
    with serve_process(colour_model_dir, tmp_path) as server:
        wait_ready(server.url)
        parts = urlsplit(server.url)
        assert parts.hostname is not None and parts.port is not None
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(DAMAGED.removesuffix(b"ZZ\r\n"))
            time.sleep(0.2)  # not a timing assertion: lets the app start reading before the hang-up
        counts = _classify_counts(server.url)
    assert counts == {"499": 1}
