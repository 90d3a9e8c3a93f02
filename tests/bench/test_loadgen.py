"""The load generator must measure what it claims: valid, distinct uploads, counted correctly.

Speed is never asserted here; these tests check that the numbers bench/ prints are about the
right requests (every upload a decodable, distinct JPEG; the request budget honoured; errors
counted) and that it refuses to point load at anything but loopback.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from _common import free_port, percentile, require_loopback
from capsight.imaging.decode import decode_image
from capsight.settings import Settings
from loadgen import BOUNDARY, build_request, run_load
from model_factory import LABEL_COLOURS, solid_image_bytes


def _split(raw: bytes) -> tuple[dict[str, str], bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    return headers, body


def _jpeg_of(body: bytes) -> bytes:
    part = body.split(b"\r\n\r\n", 1)[1]
    return part.rsplit(b"\r\n--" + BOUNDARY.encode() + b"--", 1)[0]


@pytest.fixture(scope="module")
def app_url(colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from capsight.api.app import create_app

    settings = Settings(model_dir=colour_model_dir, data_dir=tmp_path_factory.mktemp("bench-data"))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings=settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    else:
        server.should_exit = True
        pytest.fail("the app did not become ready")
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def test_unique_requests_are_distinct_decodable_jpegs_with_the_right_length() -> None:
    image = solid_image_bytes(LABEL_COLOURS["opened"], size=(320, 240))
    template = build_request("127.0.0.1", 8000, "/v1/classify", image, "file", "a.jpg", unique=True)
    digests = set()
    for n in (1, 2, 2**40):
        headers, body = _split(b"".join(template.parts(n)))
        assert int(headers["Content-Length"]) == len(body)
        jpeg = _jpeg_of(body)
        assert decode_image(jpeg).width == 320
        digests.add(hashlib.sha256(jpeg).hexdigest())
    assert len(digests) == 3


def test_same_bytes_mode_repeats_the_exact_upload() -> None:
    image = solid_image_bytes(LABEL_COLOURS["closed"])
    template = build_request("127.0.0.1", 8000, "/x", image, "file", "a.jpg", unique=False)
    first, second = (b"".join(template.parts(n)) for n in (1, 2))
    assert first == second
    headers, body = _split(first)
    assert _jpeg_of(body) == image
    assert int(headers["Content-Length"]) == len(body)


def test_unique_mode_needs_a_jpeg() -> None:
    png = solid_image_bytes(LABEL_COLOURS["closed"], fmt="PNG")
    with pytest.raises(SystemExit, match="JPEG"):
        build_request("127.0.0.1", 8000, "/x", png, "file", "a.png", unique=True)


@pytest.mark.parametrize("url", ["http://10.1.2.3:8000/v1/classify", "http://8.8.8.8/", "https://127.0.0.1/"])
def test_refuses_anything_but_plain_http_on_loopback(url: str) -> None:
    with pytest.raises(SystemExit):
        require_loopback(url)


def test_accepts_loopback_names_and_addresses() -> None:
    url = "http://127.0.0.1:8000/v1/classify?x=1"
    assert require_loopback(url) == ("127.0.0.1", 8000, "/v1/classify?x=1")
    assert require_loopback("http://localhost/")[1:] == (80, "/")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert percentile([], 50) != percentile([], 50)  # NaN


def test_load_against_the_real_app_counts_every_request(app_url: str) -> None:
    host, port, _ = require_loopback(app_url)
    image = solid_image_bytes(LABEL_COLOURS["opened"], size=(200, 150))
    template = build_request(host, port, "/v1/classify", image, "file", "a.jpg", unique=True)
    result = asyncio.run(run_load(host, port, template, concurrency=4, duration_s=30, max_requests=24))
    assert result.completed == 24  # the request budget, not the duration, ended the run
    assert dict(result.statuses) == {"200": 24}
    assert result.errors == 0 and result.transport_errors == 0
    assert len(result.latencies_ms) == 24 and min(result.latencies_ms) > 0


def test_error_answers_and_refused_connections_are_errors(app_url: str) -> None:
    host, port, _ = require_loopback(app_url)
    not_an_image = b"\xff\xd8 but not really a JPEG"
    template = build_request(host, port, "/v1/classify", not_an_image, "file", "a.jpg", unique=False)
    result = asyncio.run(run_load(host, port, template, concurrency=2, duration_s=30, max_requests=6))
    assert dict(result.statuses) == {"400": 6}
    assert result.errors == 6

    dead_port = free_port()  # nothing listens there
    refused = asyncio.run(
        run_load("127.0.0.1", dead_port, template, concurrency=2, duration_s=5, max_requests=4)
    )
    assert refused.completed == 0
    assert refused.transport_errors == 4 and refused.errors == 4
    assert refused.first_error is not None and "Connect" in refused.first_error
