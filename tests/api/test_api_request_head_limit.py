"""A request head (request line and headers) over CAPSIGHT_MAX_REQUEST_HEAD_BYTES is refused 431.

Why: ``capsight serve`` (httptools) put no limit on a head: one request with a single 50 MB header
line was answered 200, and eight of them at once took the server from 164 MB to 402 MB, past the
300 MB memory target: a client could exhaust the server's memory with headers alone. The cap is on
the head only: an upload's body, chunked or not, a request after a body on a kept-alive connection
and the rest of a body already refused 413 are never counted against it. Needs real sockets and the
real ``capsight serve`` (the protocol is its choice), with one worker and with two (each worker reads
the setting from its environment)."""

from __future__ import annotations

import io
import json
import random
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from PIL import Image
from starlette.types import Receive, Scope, Send

from capsight.api.head_limit import MAX_REQUEST_HEAD_BYTES, head_too_large_message
from capsight.api.protocols import H11HeadDeadlineProtocol
from capsight.settings import InvalidSettings, Settings
from live_app import serve_process, wait_ready

pytestmark = pytest.mark.slow

SETTING = "CAPSIGHT_MAX_REQUEST_HEAD_BYTES"
CAP = 20_000  # set here, away from the default, so that each worker is seen to read it
HOST = b"Host: 127.0.0.1\r\n"
REFUSED_BODY = 17_000_000  # over the 16 MiB upload limit: 413 from its Content-Length


@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def address(
    request: pytest.FixtureRequest, colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    env = {SETTING: str(CAP)}
    data_dir = tmp_path_factory.mktemp("head-limit")
    with serve_process(colour_model_dir, data_dir, workers=request.param, env=env) as server:
        wait_ready(server.url)
        parsed = urlsplit(server.url)
        yield (str(parsed.hostname), int(parsed.port or 0))


def _read_answer(sock: socket.socket, buffered: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One whole answer from ``sock`` (``buffered``: bytes read past the previous one)."""
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(65536)
        assert chunk, bytes(buffered)
        buffered += chunk
    head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, bytes(body)
        body += chunk
    buffered[:] = body[length:]
    return status, headers, bytes(body[:length])


def _send_until_answered(sock: socket.socket, data: bytes) -> None:
    """Sends ``data`` in pieces, as a client that reads an early answer would: stops once the server
    has answered (or closed)."""
    view = memoryview(data)
    for start in range(0, len(view), 65536):
        if select.select([sock], [], [], 0)[0]:
            return
        try:
            sock.sendall(view[start : start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            return


def _refused(address: tuple[str, int], head: bytes, cap: int = CAP) -> None:
    """``head`` is answered 431 with a JSON error naming the setting, and the connection closed."""
    with socket.create_connection(address, timeout=30) as sock:
        _send_until_answered(sock, head)
        buffered = bytearray()
        status, headers, body = _read_answer(sock, buffered)
        assert status == 431, (status, body)
        assert headers["content-type"] == "application/json"
        assert headers["connection"] == "close"
        assert json.loads(body) == {"error": head_too_large_message(cap)}
        sock.shutdown(socket.SHUT_WR)  # the client is done: the server closes its end
        assert buffered == b"" and sock.recv(65536) == b""


def _head_of(size: int, *, lines: int = 1, path: bytes = b"/health/live") -> bytes:
    """A GET head of exactly ``size`` bytes, its filler in ``lines`` header lines."""
    start = b"GET " + path + b" HTTP/1.1\r\n" + HOST
    filler = size - len(start) - 2
    per_line, extra = divmod(filler, lines)
    out = bytearray(start)
    for i in range(lines):
        n = per_line + (extra if i == 0 else 0)
        name = b"X-Filler-%05d: " % i
        out += name + b"a" * (n - len(name) - 2) + b"\r\n"
    out += b"\r\n"
    assert len(out) == size
    return bytes(out)


def _noise_png(size: int, seed: int) -> bytes:
    """A PNG of random pixels (incompressible, distinct per seed), about 3 * size * size bytes."""
    pixels = random.Random(seed).randbytes(size * size * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (size, size), pixels).save(out, format="PNG", compress_level=0)
    return out.getvalue()


def test_one_huge_header_line_is_refused(address: tuple[str, int]) -> None:
    _refused(address, b"GET /health/live HTTP/1.1\r\n" + HOST + b"X-Big: " + b"a" * 8_000_000 + b"\r\n\r\n")


def test_many_normal_header_lines_over_the_cap_are_refused(address: tuple[str, int]) -> None:
    _refused(address, _head_of(2 * CAP, lines=2 * CAP // 40))


def test_a_head_one_byte_over_the_cap_is_refused(address: tuple[str, int]) -> None:
    _refused(address, _head_of(CAP + 1, lines=10))


def test_a_head_of_the_cap_is_answered(address: tuple[str, int]) -> None:
    for lines in (1, 10):
        with socket.create_connection(address, timeout=30) as sock:
            sock.sendall(_head_of(CAP, lines=lines))
            status, _, body = _read_answer(sock, bytearray())
            assert status == 200, body


def test_bodies_are_not_counted_as_the_head(address: tuple[str, int]) -> None:
    image = _noise_png(400, seed=1)  # ~480 KB, 24 times the cap
    assert len(image) > 20 * CAP
    parts = [image[i : i + 100_000] for i in range(0, len(image), 100_000)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
    other = _noise_png(400, seed=2)
    get = b"GET /health/live HTTP/1.1\r\n" + HOST + b"\r\n"
    upload = b"POST /v1/classify HTTP/1.1\r\n" + HOST + b"Content-Type: image/png\r\n"
    with socket.create_connection(address, timeout=30) as sock:
        buffered = bytearray()
        sock.sendall(upload + b"Content-Length: %d\r\n\r\n" % len(image) + image)
        status, _, body = _read_answer(sock, buffered)
        assert status == 200, body
        sock.sendall(get)  # the next request on the kept-alive connection
        assert _read_answer(sock, buffered)[0] == 200
        sock.sendall(upload + b"Transfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n")
        status, _, body = _read_answer(sock, buffered)
        assert status == 200, body
        # A body and the next request in one send (pipelined): the head after the body counts alone.
        sock.sendall(upload + b"Content-Length: %d\r\n\r\n" % len(other) + other + get)
        status, _, body = _read_answer(sock, buffered)
        assert status == 200, body
        assert _read_answer(sock, buffered)[0] == 200
        # The rest of a body refused 413 from its Content-Length is read and dropped, not counted.
        sock.sendall(upload + b"Content-Length: %d\r\n\r\n" % REFUSED_BODY)
        assert _read_answer(sock, buffered)[0] == 413
        sock.sendall(b"\0" * REFUSED_BODY + get)
        assert _read_answer(sock, buffered)[0] == 200


def test_the_default_is_the_documented_cap() -> None:
    assert Settings().max_request_head_bytes == MAX_REQUEST_HEAD_BYTES == 64 * 1024


async def _count_body(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers the number of body bytes it read."""
    assert scope["type"] == "http"
    read = 0
    while True:
        message = await receive()
        read += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    answer = str(read).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(answer))]}
    )
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="module")
def h11_address() -> Iterator[tuple[str, int]]:
    """uvicorn with the h11 protocol ``capsight serve`` falls back to without httptools, at the
    default cap (read from this process's environment, which does not set it)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(_count_body, http=H11HeadDeadlineProtocol, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.01)
        yield sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_the_h11_fallback_refuses_past_the_cap_and_not_before(h11_address: tuple[str, int]) -> None:
    cap = MAX_REQUEST_HEAD_BYTES  # above h11's own 16 KiB, which answered a plain-text 400
    _refused(h11_address, _head_of(cap + 1, lines=10, path=b"/"), cap)
    _refused(h11_address, b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + b"a" * 8_000_000 + b"\r\n\r\n", cap)
    body = b"x" * (10 * cap)
    get = b"GET / HTTP/1.1\r\n" + HOST + b"\r\n"
    with socket.create_connection(h11_address, timeout=30) as sock:
        buffered = bytearray()
        sock.sendall(_head_of(cap, lines=10, path=b"/"))
        assert _read_answer(sock, buffered)[:3:2] == (200, b"0")
        sock.sendall(b"POST / HTTP/1.1\r\n" + HOST + b"Content-Length: %d\r\n\r\n" % len(body) + body + get)
        assert _read_answer(sock, buffered)[:3:2] == (200, b"%d" % len(body))
        assert _read_answer(sock, buffered)[:3:2] == (200, b"0")


@pytest.mark.parametrize("value", ["0", "1023", "-1", "64k"])
def test_a_cap_too_small_for_any_head_is_refused(value: str) -> None:
    with pytest.raises(InvalidSettings, match=SETTING):
        Settings(max_request_head_bytes=value)  # type: ignore[arg-type]
