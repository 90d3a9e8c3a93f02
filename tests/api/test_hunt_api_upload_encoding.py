"""An upload to the classify routes with a Content-Encoding they do not decode (a gzip-compressed
multipart form or image) is refused with 415 and the encodings accepted, as RFC 9110 (15.5.16)
asks: its compressed bytes were read as the upload and answered 400 "Malformed multipart body" or
"not a supported image", which sent the client looking at its image instead of its compression."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from helpers import AppFactory, jpeg

BOUNDARY = "hunt-boundary"


def _multipart(field: str, data: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="a.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


@pytest.mark.parametrize(
    ("path", "field"), [("/classify", "file"), ("/v1/classify", "file"), ("/v1/classify/batch", "files")]
)
def test_a_compressed_upload_is_refused_with_415(make_client: AppFactory, path: str, field: str) -> None:
    client: Any = make_client()
    body = gzip.compress(_multipart(field, jpeg("opened")))
    r = client.post(
        path,
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}", "content-encoding": "gzip"},
    )
    assert r.status_code == 415, r.text
    assert set(r.json()) == {"error"}
    assert "gzip" in r.json()["error"]
    assert r.headers["accept-encoding"] == "identity"
    r = client.post(
        path,
        content=gzip.compress(jpeg("opened")),
        headers={"content-type": "image/jpeg", "content-encoding": "gzip"},
    )
    assert r.status_code == 415, r.text


@pytest.mark.parametrize("encoding", ["identity", "Identity", ""])
def test_an_identity_upload_is_still_classified(make_client: AppFactory, encoding: str) -> None:
    client: Any = make_client()
    r = client.post(
        "/classify",
        content=_multipart("file", jpeg("opened")),
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}", "content-encoding": encoding},
    )
    assert r.status_code == 200, r.text
    assert r.json()["bottle_status"] == "opened"


def test_the_415_is_documented(make_client: AppFactory) -> None:
    paths = make_client().get("/openapi.json").json()["paths"]
    for path in ("/classify", "/v1/classify", "/v1/classify/batch"):
        assert "415" in paths[path]["post"]["responses"], path


def test_compressed_feedback_is_refused_with_415_before_it_is_parsed(make_client: AppFactory) -> None:
    """It was answered 422 "Invalid JSON", with the JSON intact under its compression."""
    client: Any = make_client(store=True)
    body = b'{"request_id": "abc", "label": "opened"}'
    r = client.post(
        "/v1/feedback",
        content=gzip.compress(body),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert r.status_code == 415, r.text
    assert set(r.json()) == {"error"} and "gzip" in r.json()["error"]
    assert r.headers["accept-encoding"] == "identity"
    r = client.post("/v1/feedback", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 202, r.text
    paths = client.get("/openapi.json").json()["paths"]
    assert "415" in paths["/v1/feedback"]["post"]["responses"]
