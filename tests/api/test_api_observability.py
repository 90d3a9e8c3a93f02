"""Metrics at /metrics, the last-resort 500, CORS, and the pure ASGI middlewares on their own."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from api.fakes import DictCache
from api.helpers import AppFactory, jpeg, metric_sample
from capsight.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from capsight.store.services import Services

_sample = metric_sample


def test_metrics_count_requests_predictions_batches_and_cache(make_client: AppFactory) -> None:
    client = make_client(services=Services(cache=DictCache()))
    image = jpeg("opened")
    for _ in range(3):
        client.post("/v1/classify", files={"file": ("a.jpg", image, "image/jpeg")})
    client.post("/classify", files={"file": ("b.jpg", jpeg("closed"), "image/jpeg")})
    client.post("/classify")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    requests = "capsight_http_requests_total"
    assert _sample(text, requests, endpoint="/v1/classify", method="POST", status="200") == 3
    assert _sample(text, requests, endpoint="/classify", method="POST", status="200") == 1
    assert _sample(text, requests, endpoint="/classify", method="POST", status="400") == 1
    latency = "capsight_http_request_duration_seconds_count"
    assert _sample(text, latency, endpoint="/v1/classify", method="POST") == 3
    assert _sample(text, "capsight_predictions_total", model="bottle-status", label="opened") == 3
    assert _sample(text, "capsight_predictions_total", model="bottle-status", label="closed") == 1
    assert _sample(text, "capsight_cache_hits_total") == 2
    assert _sample(text, "capsight_cache_misses_total") == 2
    assert _sample(text, "capsight_batch_size_count") >= 2  # warm-up runs outside the batcher
    assert _sample(text, "capsight_inference_queue_depth") == 0
    assert _sample(text, "capsight_model_ready") == 1


def test_unmatched_routes_share_one_metrics_label(client: TestClient) -> None:
    for path in ("/a", "/b", "/c"):
        client.get(path)
    text = client.get("/metrics").text
    assert _sample(text, "capsight_http_requests_total", endpoint="unmatched", status="404") == 3
    assert 'endpoint="/a"' not in text


def test_two_apps_in_one_process_keep_separate_metrics(make_client: AppFactory) -> None:
    one, two = make_client(), make_client()
    one.post("/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    text = two.get("/metrics").text
    assert 'endpoint="/classify"' not in text


def test_unexpected_exceptions_become_a_plain_500(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)

    @app.get("/explode")
    async def explode() -> None:
        raise RuntimeError("secret internal detail")

    r = client.get("/explode", headers={"X-Request-ID": "boom-1"})
    assert r.status_code == 500
    assert r.json() == {"error": "Internal error."}
    assert r.headers["x-request-id"] == "boom-1"
    assert "secret" not in r.text


def test_a_client_that_hangs_up_mid_upload_is_a_499_not_a_500(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Aborted uploads happen all day on mobile networks; counting them as 500s would page somebody."""
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n\xff\xd8\xff'
    messages = [{"type": "http.request", "body": head, "more_body": True}, {"type": "http.disconnect"}]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/classify", "raw_path": b"/v1/classify", "query_string": b"",
        "root_path": "", "server": ("testserver", 80), "client": ("127.0.0.1", 5000),
        "headers": [(b"content-type", b"multipart/form-data; boundary=b"), (b"content-length", b"100000")],
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    assert client.portal is not None  # the fixture's client is started: the app's lifespan ran
    with caplog.at_level(logging.INFO, logger="capsight.api.middleware"):
        client.portal.call(client.app, scope, receive, send)
    assert sent == []  # nobody to answer
    assert "client closed the connection" in caplog.text
    assert "unhandled error" not in caplog.text
    text = client.get("/metrics").text
    assert _sample(text, "capsight_http_requests_total", endpoint="/v1/classify", status="499") == 1
    assert 'status="500"' not in text


def test_a_path_with_newlines_cannot_forge_log_lines(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The path is percent-decoded: ``/v1/classify%0a...`` would start a fake line in the server log
    (an attacker's "CRITICAL ... admin logged in"). Control characters are escaped, long paths cut."""
    app = client.app
    assert isinstance(app, FastAPI)

    @app.post("/upload/{name}")
    async def upload(request: Request, name: str) -> None:
        await request.body()

    forged = "/upload/a\n2026-11-27 12:00:00 CRITICAL capsight: forged\r\x1b[2J" + "x" * 5000
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": forged, "raw_path": forged.encode("latin-1"), "query_string": b"",
        "root_path": "", "server": ("testserver", 80), "client": ("127.0.0.1", 5000),
        "headers": [(b"content-type", b"multipart/form-data; boundary=b"), (b"content-length", b"100000")],
    }  # fmt: skip
    messages = [{"type": "http.request", "body": b"--b\r\n", "more_body": True}, {"type": "http.disconnect"}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        pass

    assert client.portal is not None
    with caplog.at_level(logging.INFO, logger="capsight.api.middleware"):
        client.portal.call(client.app, scope, receive, send)
    lines = [r.getMessage() for r in caplog.records if "client closed" in r.getMessage()]
    assert len(lines) == 1
    assert not any(c in lines[0] for c in "\n\r\x1b")
    assert "\\n2026-11-27" in lines[0]  # still readable, escaped
    assert len(lines[0]) < 500


def test_cors_headers_follow_settings(make_client: AppFactory) -> None:
    client = make_client(cors_origins=["https://app.example"])
    preflight = client.options(
        "/v1/classify",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    r = client.get("/health/live", headers={"Origin": "https://app.example"})
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-request-id" in r.headers["access-control-expose-headers"].lower()
    other = client.get("/health/live", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_without_configured_origins(client: TestClient) -> None:
    r = client.get("/health/live", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in r.headers


# -- the middlewares as plain ASGI apps -------------------------------------------------------------


async def _downstream_reads_everything(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(
    app: Any, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[list[dict[str, Any]], int]:
    scope = {"type": "http", "method": "POST", "path": "/classify", "headers": headers}
    sent: list[dict[str, Any]] = []
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        body = chunks[reads - 1] if reads <= len(chunks) else b""
        return {"type": "http.request", "body": body, "more_body": reads < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent, reads


def test_declared_oversize_body_is_refused_before_reading_it() -> None:
    app = BodySizeLimitMiddleware(_downstream_reads_everything, limit_for=lambda path: 1_000)
    sent, reads = _call(app, [(b"content-length", b"5000")], [b"x" * 5000])
    assert sent[0]["status"] == 413
    assert reads == 0  # not one body byte was read
    assert b"upload limit is 1000 bytes" in sent[1]["body"]


def test_streamed_oversize_body_is_cut_off_early() -> None:
    app = BodySizeLimitMiddleware(_downstream_reads_everything, limit_for=lambda path: 1_000)
    sent, reads = _call(app, [], [b"x" * 400] * 100)
    assert sent[0]["status"] == 413
    assert reads == 3  # stopped at the chunk that crossed the limit, not after 100 chunks


def test_body_within_the_limit_passes_through() -> None:
    app = BodySizeLimitMiddleware(_downstream_reads_everything, limit_for=lambda path: 1_000)
    sent, reads = _call(app, [(b"content-length", b"800")], [b"x" * 400, b"x" * 400])
    assert sent[0]["status"] == 200 and reads == 2


def test_request_context_adds_the_id_to_raw_responses() -> None:
    app = RequestContextMiddleware(_downstream_reads_everything)
    sent, _ = _call(app, [(b"x-request-id", b"abc")], [b""])
    assert (b"x-request-id", b"abc") in sent[0]["headers"]


def test_web_page_and_static_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/nope.js").status_code == 404
