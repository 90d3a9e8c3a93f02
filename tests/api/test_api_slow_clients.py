"""Clients that send their request body too slowly get 408 instead of holding a connection for ever.

These need real sockets (the in-process test client hands the app the whole body at once), so each
test talks raw HTTP/1.1 to the app under uvicorn on a loopback port.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers import SlowClassifier, jpeg, make_settings

from capsight.inference.classifier import OnnxClassifier
from live_app import serve

pytestmark = pytest.mark.slow

BOUNDARY = "capsightslowbody"


def _multipart(data: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def _head(url: str, path: str, length: int) -> bytes:
    host = urlsplit(url).netloc
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
    ).encode()


class Answer:
    def __init__(self, raw: bytes, closed_after: bool, unsent: int = 0) -> None:
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        self.json = json.loads(body[: int(self.headers["content-length"])])
        self.closed_after = closed_after  # the server closed the connection after answering
        self.unsent = unsent  # bytes of the body the client still held back when the answer came


def _send(
    url: str, path: str, body: bytes, pieces: list[int], pause: float, then_wait: bool = True
) -> Answer:
    """Send ``body`` cut at the offsets in ``pieces`` with ``pause`` seconds between pieces; when the
    server answers early the rest is not sent. ``then_wait``: keep the connection open afterwards."""
    parsed = urlsplit(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=15) as sock:
        sock.sendall(_head(url, path, len(body)))
        cuts = [0, *pieces, len(body)]
        sock.setblocking(False)
        raw = b""
        sent = 0
        for start, end in itertools.pairwise(cuts):
            if end > start:
                sock.sendall(body[start:end])
                sent = end
            deadline = time.monotonic() + pause
            while time.monotonic() < deadline and b"\r\n\r\n" not in raw:
                try:
                    raw += sock.recv(65536)
                except BlockingIOError:
                    time.sleep(0.01)
            if b"\r\n\r\n" in raw:
                break
        sock.settimeout(15)
        while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < _declared(raw):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
        closed = False
        if then_wait:
            try:
                closed = sock.recv(1) == b""
            except (TimeoutError, ConnectionResetError):
                closed = False
        return Answer(raw, closed, len(body) - sent)


def _declared(raw: bytes) -> int:
    for line in raw.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@pytest.fixture(scope="module")
def server(colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server for the tests of these limits: each sends on its own connection, and the server
    keeps nothing of one client for the next (a start and a stop were half a second each)."""
    settings = make_settings(
        colour_model_dir,
        tmp_path_factory.mktemp("slow-clients"),
        body_idle_timeout_seconds=1.0,  # the drips below come every 0.15 s: a busy CI box has margin
        body_timeout_seconds=2.5,
        store_images=False,
    )
    with serve(settings) as url:
        yield url


def test_a_stalled_upload_gets_408_and_the_connection_is_closed(server: str) -> None:
    body = _multipart(jpeg("closed"))
    # 200 bytes, then silence: the rest is held back until the server answers (the pause is only a
    # guard against a hang: the idle limit is 1 s).
    answer = _send(server, "/classify", body, pieces=[200], pause=60)
    assert answer.status == 408
    assert answer.json == {"error": "The request body stalled: nothing arrived for 1 s."}
    assert answer.headers["connection"] == "close" and answer.headers["x-request-id"]
    assert answer.closed_after
    assert answer.unsent == len(body) - 200  # answered while the rest was held back, not after


def test_a_dripping_upload_is_cut_off_at_the_total_deadline(server: str) -> None:
    body = _multipart(jpeg("closed"))
    started = time.monotonic()
    # 25 bytes every 0.15 s: never idle for 1 s, but the ~1 KB body would need ~6 s.
    answer = _send(server, "/v1/classify", body, pieces=list(range(25, len(body), 25)), pause=0.15)
    waited = time.monotonic() - started
    assert answer.status == 408
    assert answer.json["error"] == "The request body did not arrive within 2.5 s."
    assert 2.0 < waited < 6


def test_a_slow_but_steady_upload_inside_both_limits_is_classified(server: str) -> None:
    body = _multipart(jpeg("opened"))
    third = len(body) // 3
    answer = _send(server, "/classify", body, pieces=[third, 2 * third], pause=0.3, then_wait=False)
    assert answer.status == 200
    assert answer.json["bottle_status"] == "opened"


def test_a_slow_model_after_the_body_arrived_is_not_cut_off(colour_model_dir: Path, tmp_path: Path) -> None:
    """Only body reads are timed: a request waiting 1 s on the model keeps its answer."""
    settings = make_settings(
        colour_model_dir, tmp_path, body_idle_timeout_seconds=0.3, body_timeout_seconds=0.6
    )
    slow = SlowClassifier(OnnxClassifier(colour_model_dir, intra_op_threads=1), seconds=1.0)
    with serve(settings, classifier=slow) as url:
        answer = _send(url, "/classify", _multipart(jpeg("background")), pieces=[], pause=0, then_wait=False)
    assert answer.status == 200
    assert answer.json["bottle_status"] == "background"


def test_zero_turns_both_limits_off(colour_model_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(colour_model_dir, tmp_path, body_idle_timeout_seconds=0, body_timeout_seconds=0)
    body = _multipart(jpeg("closed"))
    with serve(settings) as url:
        answer = _send(url, "/classify", body, pieces=[100], pause=1.0, then_wait=False)
    assert answer.status == 200
    assert answer.json["bottle_status"] == "closed"
