"""CAPSIGHT_KEEP_ALIVE_SECONDS: how long ``capsight serve`` keeps an idle connection open between
requests, with and without ``--workers N``.

A load balancer (an AWS ALB: 60 s, ingress-nginx: 60 s to its upstreams) reuses idle connections to
a replica for as long as its own idle timeout. The server closed them after uvicorn's 5 s, so a
request the balancer sent on a connection the server was closing that moment failed: a 502 now and
then. The server's idle timeout must outlast the balancer's, so it must be a setting; and the
request-head deadline (CAPSIGHT_REQUEST_HEAD_TIMEOUT_SECONDS) must not close an idle connection
early in its place. Needs real sockets and the real ``capsight serve``."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from live_app import serve_process, wait_ready

pytestmark = pytest.mark.slow

_GET = b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _answered(sock: socket.socket) -> bool:
    """Sends GET /health/live on ``sock``: whether a whole answer comes back (False: the server had
    closed the connection, as a balancer reusing it would find)."""
    data = b""
    try:
        sock.sendall(_GET)
        while not data.endswith(b'{"status":"ok"}'):
            chunk = sock.recv(65536)
            if not chunk:
                return False
            data += chunk
    except ConnectionError:
        return False
    return data.startswith(b"HTTP/1.1 200")


def _closed_by(sock: socket.socket, deadline: float) -> bool:
    """Whether the server closes ``sock`` (EOF or reset) before ``deadline`` (time.monotonic()), as a
    balancer reusing it then would find; returns as soon as it does."""
    try:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        return sock.recv(65536) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


@pytest.mark.parametrize("workers", [1, 2])
def test_idle_connections_stay_open_for_the_keep_alive_setting(
    colour_model_dir: Path, tmp_path: Path, workers: int
) -> None:
    # 3 s: longer than the request-head deadline (1 s) and shorter than uvicorn's default (5 s), so
    # the setting is seen in both directions.
    env = {"CAPSIGHT_KEEP_ALIVE_SECONDS": "3", "CAPSIGHT_REQUEST_HEAD_TIMEOUT_SECONDS": "1"}
    with serve_process(colour_model_dir, tmp_path, workers=workers, env=env) as server:
        wait_ready(server.url)
        parsed = urlsplit(server.url)
        address = (parsed.hostname, parsed.port)
        with (
            socket.create_connection(address, timeout=5) as reused,
            socket.create_connection(address, timeout=5) as left,
        ):
            assert _answered(reused) and _answered(left)
            started = time.monotonic()
            time.sleep(2)  # idle past the head deadline, within the keep-alive
            assert _answered(reused), "closed after 2 s idle with CAPSIGHT_KEEP_ALIVE_SECONDS=3"
            # Past 3 s, short of 5 s: waited for until then (it comes at 3 s), not slept through.
            assert _closed_by(left, started + 4.5), (
                "still open after 4.5 s idle with CAPSIGHT_KEEP_ALIVE_SECONDS=3"
            )
