"""HEAD is answered like GET, without the body, on every route that answers GET (RFC 9110 9.1)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, metric_sample

GET_PATHS = [
    "/",
    "/static/app.js",
    "/health/live",
    "/health/ready",
    "/v1/models",
    "/v1/models/bottle-status",
    "/v2",
    "/v2/health/live",
    "/v2/health/ready",
    "/v2/models/bottle-status",
    "/v2/models/bottle-status/ready",
    "/openapi.json",
    "/docs",
]


@pytest.mark.parametrize("path", GET_PATHS)
def test_head_answers_with_the_status_and_headers_of_get_and_no_body(client: TestClient, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    assert got.status_code == 200, got.text
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    # The length the GET would send (RFC 9110 8.6), not the 0 of an empty answer.
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["x-request-id"] and head.headers["x-request-id"] != got.headers["x-request-id"]


def test_head_of_a_missing_thing_is_its_404(client: TestClient) -> None:
    for path in ("/v1/models/nope", "/v2/models/nope", "/v2/models/nope/ready", "/no/such/path"):
        head = client.head(path)
        assert head.status_code == 404 and head.content == b"", path


def test_head_of_a_route_without_get_is_405(client: TestClient) -> None:
    """HEAD stands for GET only: a POST-only route does not start classifying an empty body."""
    head = client.head("/v1/classify")
    assert head.status_code == 405 and head.content == b""
    assert client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"))}).status_code == 200


def test_head_is_counted_as_head_under_its_route(make_client: AppFactory) -> None:
    client = make_client()
    for _ in range(3):
        assert client.head("/v1/models").status_code == 200
    text = client.get("/metrics").text
    sample = metric_sample(
        text, "capsight_http_requests_total", endpoint="/v1/models", method="HEAD", status="200"
    )
    assert sample == 3
