"""Request bodies held in memory at once are capped (CAPSIGHT_MAX_INFLIGHT_BODY_BYTES): a body that
does not fit waits unread, then gets 503 with Retry-After; nothing is held after a request ends.

Raw sockets against the app under uvicorn: a request must be held open mid-body to fill the budget.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from helpers import jpeg, make_settings, metric_sample

import capsight.api.app as app_module
from live_app import serve

pytestmark = pytest.mark.slow

BOUNDARY = "capsightbudget"
CAPACITY = 1_000_000


def _body(filler: int, image: bytes | None = None) -> bytes:
    """A multipart body of about ``filler`` bytes: an ignored text field, then the image."""
    image = image if image is not None else jpeg("closed")
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\n'.encode()
        + b"x" * filler
        + f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'.encode()
        + b"Content-Type: image/jpeg\r\n\r\n"
        + image
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def _head(url: str, path: str, length: int | None, content_type: str | None = None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    content_type = content_type or f"multipart/form-data; boundary={BOUNDARY}"
    return (
        f"POST {path} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n{framing}\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


def _connect(url: str) -> socket.socket:
    parsed = urlsplit(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=30)
    return sock


class Answer:
    def __init__(self, sock: socket.socket) -> None:
        raw = b""
        while b"\r\n\r\n" not in raw:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection without answering"
            raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        length = int(self.headers["content-length"])
        while len(body) < length:
            chunk = sock.recv(65536)
            assert chunk
            body += chunk
        self.json = json.loads(body[:length])


def _post(url: str, path: str, body: bytes) -> Answer:
    with _connect(url) as sock:
        sock.sendall(_head(url, path, len(body)) + body)
        return Answer(sock)


def _post_gzip(url: str, path: str, body: bytes) -> Answer:
    """POST a gzip-compressed JSON body, as tritonclient's request compression sends it."""
    head = _head(url, path, len(body), "application/json")
    with _connect(url) as sock:
        sock.sendall(head.replace(b"\r\n\r\n", b"\r\nContent-Encoding: gzip\r\n\r\n", 1) + body)
        return Answer(sock)


def _gauge(url: str, name: str) -> float:
    return metric_sample(httpx.get(f"{url}/metrics", timeout=10).text, name)


def _wait_for_gauge(url: str, name: str, check: Callable[[float], bool]) -> None:
    deadline = time.monotonic() + 15
    while not check(value := _gauge(url, name)):
        if time.monotonic() > deadline:
            pytest.fail(f"{name} stayed at {value}")
        time.sleep(0.02)


class HeldUpload:
    """A request that declared its body and sent only its first bytes: it holds its reservation."""

    def __init__(self, url: str, body: bytes, path: str = "/v1/classify") -> None:
        self.body = body
        self.sock = _connect(url)
        self.sock.sendall(_head(url, path, len(body)) + body[:100])

    def finish(self) -> Answer:
        self.sock.sendall(self.body[100:])
        answer = Answer(self.sock)
        self.sock.close()
        return answer


ServerFactory = Callable[[float], contextlib.AbstractContextManager[str]]


@pytest.fixture
def budget_server(colour_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ServerFactory:
    @contextlib.contextmanager
    def start(wait_seconds: float) -> Iterator[str]:
        monkeypatch.setattr(app_module, "BODY_BUDGET_WAIT_SECONDS", wait_seconds)
        settings = make_settings(
            colour_model_dir,
            tmp_path,
            max_upload_bytes=CAPACITY,
            max_batch_upload_bytes=CAPACITY,
            max_inflight_body_bytes=CAPACITY,
            store_images=False,
        )
        with serve(settings) as url:
            yield url

    return start


def test_a_body_that_does_not_fit_waits_then_gets_503_and_room_comes_back(
    budget_server: ServerFactory,
) -> None:
    with budget_server(0.5) as url:
        held = HeldUpload(url, _body(700_000))
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == len(held.body))

        refused = _post(url, "/v1/classify", _body(400_000))
        assert refused.status == 503
        assert refused.json == {"error": "Server busy: too many uploads in progress. Retry shortly."}
        assert refused.headers["retry-after"] == "2" and refused.headers["connection"] == "close"
        assert refused.headers["x-request-id"]

        answer = held.finish()
        assert answer.status == 200 and answer.json["label"] == "closed"
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == 0)
        again = _post(url, "/classify", _body(400_000))
        assert again.status == 200 and again.json["bottle_status"] == "closed"


def test_a_waiting_body_is_read_once_room_frees(budget_server: ServerFactory) -> None:
    with budget_server(30.0) as url:
        held = HeldUpload(url, _body(700_000))
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == len(held.body))
        answers: list[Answer] = []
        waiting = threading.Thread(
            target=lambda: answers.append(_post(url, "/v1/classify", _body(400_000))), daemon=True
        )
        waiting.start()
        _wait_for_gauge(url, "capsight_body_budget_waiting", lambda v: v == 1)
        assert held.finish().status == 200
        waiting.join(30)
        assert [a.status for a in answers] == [200]
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == 0)


def test_a_chunked_body_reserves_as_it_arrives(budget_server: ServerFactory) -> None:
    with budget_server(0.5) as url:
        held = HeldUpload(url, _body(700_000))
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == len(held.body))
        body = _body(400_000)
        with _connect(url) as sock:
            sock.sendall(_head(url, "/v1/classify", None))
            try:
                for start in range(0, len(body), 65536):
                    piece = body[start : start + 65536]
                    sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sock.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before all of it was sent; the answer is already waiting
            refused = Answer(sock)
        assert refused.status == 503 and refused.headers["retry-after"] == "2"
        assert held.finish().status == 200
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == 0)


def test_reservations_are_returned_after_errors_and_hang_ups(
    budget_server: ServerFactory,
) -> None:
    with budget_server(0.5) as url:
        for _ in range(3):  # each would leave 900 KB behind if an error path kept its share
            bad = _post(url, "/v1/classify", _body(900_000, image=b"not an image"))
            assert bad.status == 400
        hung_up = HeldUpload(url, _body(900_000))
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v > 0)
        hung_up.sock.close()
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == 0)
        assert _post(url, "/v1/classify", _body(900_000)).status == 200


def test_job_uploads_stream_to_disk_and_do_not_count(budget_server: ServerFactory) -> None:
    with budget_server(0.5) as url:
        held = HeldUpload(url, _body(900_000))
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == len(held.body))
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("a.jpg", jpeg("opened"))
            zf.writestr("padding.txt", b"p" * 300_000)  # together over the room left
        response = httpx.post(
            f"{url}/v1/jobs",
            files={"file": ("photos.zip", archive.getvalue(), "application/zip")},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        assert held.finish().status == 200


def test_a_gzip_v2_body_counts_what_it_inflates_to(budget_server: ServerFactory) -> None:
    """A few KB of gzip inflate to 400 KB: the budget must see the 400 KB, not the few KB, or a burst
    of such bodies fills the memory it protects."""
    request = {
        "inputs": [
            {
                "name": "image",
                "shape": [1],
                "datatype": "BYTES",
                "data": [base64.b64encode(jpeg("opened")).decode()],
            }
        ]
    }
    body = gzip.compress(json.dumps(request).encode() + b" " * 400_000)  # trailing JSON whitespace
    assert len(body) < 20_000
    path = "/v2/models/bottle-status/infer"
    with budget_server(0.5) as url:
        held = HeldUpload(url, _body(700_000))
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == len(held.body))

        refused = _post_gzip(url, path, body)
        assert refused.status == 503, refused.json
        assert refused.json == {"error": "Server busy: too many uploads in progress. Retry shortly."}
        assert refused.headers["retry-after"] == "2"

        assert held.finish().status == 200
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == 0)
        answer = _post_gzip(url, path, body)
        assert answer.status == 200, answer.json
        assert answer.json["outputs"]
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == 0)
