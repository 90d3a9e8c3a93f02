"""Regressions for what fuzzing the API from its own OpenAPI schema found (tests/api/test_api_fuzz.py):
each request here once got an answer the schema did not document, or a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, SlowWarmupClassifier
from capsight.inference import OnnxClassifier
from capsight.store.services import Services


def test_unknown_job_state_filter_is_a_documented_400(make_client: AppFactory) -> None:
    """GET /v1/jobs?state=bogus answered 400, which the schema did not list for that operation."""
    client = make_client(store=True)
    response = client.get("/v1/jobs", params={"state": "bogus"})
    assert response.status_code == 400
    assert response.json() == {"error": "state must be one of queued, running, succeeded, failed, cancelled."}
    operation = client.get("/openapi.json").json()["paths"]["/v1/jobs"]["get"]
    assert str(response.status_code) in operation["responses"]
    assert client.get("/v1/jobs", params={"state": "succeeded"}).status_code == 200


def test_without_a_request_log_the_404_is_documented(make_client: AppFactory) -> None:
    """An app built without a request log answered GET /v1/requests with 404, not in its schema."""
    client = make_client(services=Services())
    response = client.get("/v1/requests")
    assert response.status_code == 404
    assert response.json() == {"error": "The request log is not available on this server."}
    operation = client.get("/openapi.json").json()["paths"]["/v1/requests"]["get"]
    assert str(response.status_code) in operation["responses"]


def test_listing_models_before_the_model_is_loaded_is_a_documented_503(
    make_client: AppFactory, onnx_classifier: OnnxClassifier
) -> None:
    """GET /v1/models answered 503 while the model was still loading; its schema listed only 200."""
    classifier = SlowWarmupClassifier(onnx_classifier)
    client = make_client(classifier=classifier, ready=False)
    try:
        response = client.get("/v1/models")
        assert response.status_code == 503
        assert response.json() == {"error": "Model is not loaded yet."}
        operation = client.get("/openapi.json").json()["paths"]["/v1/models"]["get"]
        assert str(response.status_code) in operation["responses"]
    finally:
        classifier.release.set()


def _documented(client: TestClient, method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = client.get("/openapi.json").json()["paths"][path][method]["responses"]
    return responses


async def _stalled_post(client: TestClient, path: str, content_type: bytes, first_chunk: bytes) -> int:
    """POST a body whose first chunk arrives and the rest never does; the status of the answer."""
    first = True

    async def receive() -> dict[str, Any]:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": first_chunk, "more_body": True}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    headers = [(b"host", b"testserver"), (b"content-type", content_type), (b"content-length", b"1000")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await client.app(scope, receive, send)
    return statuses[0]


@pytest.mark.parametrize(
    ("path", "content_type", "first_chunk"),
    [
        ("/v1/feedback", b"application/json", b'{"request_id": '),
        (
            "/v1/jobs",
            b"multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="file"',
        ),
    ],
    ids=["feedback", "jobs"],
)
def test_a_stalled_body_gets_a_documented_408(
    make_client: AppFactory, path: str, content_type: bytes, first_chunk: bytes
) -> None:
    """The idle limit cuts off a stalled body with 408, which feedback and job uploads did not list;
    and feedback's body (parsed by FastAPI) got 400 "There was an error parsing the body" instead."""
    client = make_client(store=True, body_idle_timeout_seconds=0.05)
    assert client.portal is not None
    status = client.portal.call(_stalled_post, client, path, content_type, first_chunk)
    assert status == 408
    assert str(status) in _documented(client, "post", path)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_feedback_over_the_upload_limit_is_a_documented_413(make_client: AppFactory, declared: bool) -> None:
    """A feedback body over CAPSIGHT_MAX_UPLOAD_BYTES got 413, which the operation did not list; sent
    without a Content-Length it got 400 "There was an error parsing the body" instead."""
    client = make_client(store=True, max_upload_bytes=1024)
    body = json.dumps({"request_id": "r", "label": "closed", "note": "x" * 2000}).encode()
    content: bytes | Iterator[bytes] = body if declared else iter([body[:1000], body[1000:]])
    response = client.post("/v1/feedback", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"error": "File too large: the upload limit is 1 KB."}
    assert str(response.status_code) in _documented(client, "post", "/v1/feedback")
