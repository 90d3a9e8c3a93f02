"""A receiver that answers 200 at once, then drips its response body, does not hold a delivery."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from capsight.jobs.webhook import Delivery, RetryPolicy, deliver

SECRET = "webhook-secret-for-tests-" + "x" * 16


class _Dripping(BaseHTTPRequestHandler):
    """Accepts the webhook (200), sends the first byte of its 1000-byte body, and holds the rest
    until the test ends (``stop``): staged, not timed, the body cannot be whole while a delivery runs."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            self.wfile.write(b"x")
            self.wfile.flush()
            if self.server.stop.wait(60):  # type: ignore[attr-defined]
                return
            self.wfile.write(b"x" * 999)
        except OSError:  # the sender hung up: what the test wants
            pass


@pytest.fixture
def dripping() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Dripping)
    server.daemon_threads = True
    server.stop = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


def test_a_delivery_ends_with_the_answers_status_not_its_body(dripping: ThreadingHTTPServer) -> None:
    """The status is all a delivery needs, but the whole body was read: a receiver dripping it (each
    byte well within the 10 s per-read timeout) held a delivery thread for minutes, and four such
    receivers held every webhook of the server."""
    url = f"http://127.0.0.1:{dripping.server_address[1]}/hook"
    policy = RetryPolicy(attempts=1, base_delay=0.01, timeout=2.0)
    with httpx.Client(timeout=policy.timeout, trust_env=False) as client:
        result = deliver(client, url, b"{}", SECRET, policy, threading.Event())
    # 999 bytes of the body are still held back: a delivery reading it ends in a ReadTimeout instead.
    assert result == Delivery(True, 1, 200)
