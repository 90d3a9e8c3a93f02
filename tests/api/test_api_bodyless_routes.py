"""A body sent to a route that reads none is not called a file: the 413 says the route takes no
request body (the limit still holds, so the server never takes in an unbounded body)."""

from __future__ import annotations

import pytest
from helpers import AppFactory

LIMIT = 1000


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/models/reload"), ("GET", "/v1/models"), ("GET", "/health/ready")],
)
def test_an_oversized_body_to_a_bodyless_route_is_refused_as_a_body_not_a_file(
    make_client: AppFactory, method: str, path: str
) -> None:
    client = make_client(max_upload_bytes=LIMIT)
    response = client.request(method, path, content=b"{" + b" " * LIMIT + b"}")
    assert response.status_code == 413
    error = response.json()["error"]
    assert "File too large" not in error
    assert f"{method} {path} takes no request body" in error


def test_a_small_body_to_a_bodyless_route_is_ignored(make_client: AppFactory) -> None:
    client = make_client(max_upload_bytes=LIMIT)
    assert client.post("/v1/models/reload", json={}).status_code == 200


def test_an_oversized_upload_is_still_called_a_file(make_client: AppFactory) -> None:
    client = make_client(max_upload_bytes=LIMIT)
    response = client.post(
        "/v1/classify", content=b"\0" * (LIMIT * 100), headers={"content-type": "image/jpeg"}
    )
    assert response.status_code == 413
    assert "File too large" in response.json()["error"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/jobs"), ("DELETE", "/v1/jobs/abc")])
def test_a_bodyless_method_on_an_upload_path_is_held_to_the_smallest_limit(
    make_client: AppFactory, method: str, path: str
) -> None:
    """GET /v1/jobs shares its path with the zip upload: its body was held to the job upload's limit
    (512 MiB by default) and, over it, called a file too large; a GET reads no body at all."""
    client = make_client(max_upload_bytes=LIMIT, max_job_upload_bytes=LIMIT * 1000)
    response = client.request(method, path, content=b"\0" * (LIMIT + 1))
    assert response.status_code == 413
    error = response.json()["error"]
    assert "File too large" not in error
    assert f"{method} {path} takes no request body" in error
