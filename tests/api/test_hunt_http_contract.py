"""Bug hunt: the HTTP classification contract (legacy /classify, /v1, V2) on odd but legal inputs."""

from __future__ import annotations

import pytest

from api.helpers import AppFactory, jpeg

LIMIT = 20_000


def _jpeg_of_size(size: int) -> bytes:
    """A valid JPEG of exactly ``size`` bytes: comment (COM) segments pad it after the SOI marker."""
    image = jpeg("closed")
    missing = size - len(image)
    assert missing >= 4
    segments = b""
    while missing > 0:
        payload = min(missing - 4, 65_533)
        segments += b"\xff\xfe" + (payload + 2).to_bytes(2, "big") + b"c" * payload
        missing -= payload + 4
    padded = image[:2] + segments + image[2:]
    assert len(padded) == size
    return padded


@pytest.mark.parametrize("path", ["/classify", "/v1/classify"])
def test_an_image_of_exactly_the_upload_limit_is_accepted_in_multipart(
    make_client: AppFactory, path: str
) -> None:
    """The limit is per image (what /v1/models advertises and the page checks before sending):
    the multipart framing around a file of exactly the limit must not push it into a 413."""
    client = make_client(max_upload_bytes=LIMIT)
    r = client.post(path, files={"file": ("photo.jpg", _jpeg_of_size(LIMIT), "image/jpeg")})
    assert r.status_code == 200, r.text
    r = client.post(path, files={"file": ("photo.jpg", _jpeg_of_size(LIMIT + 1), "image/jpeg")})
    assert r.status_code == 413
    assert "too large" in r.json()["error"].lower()


def test_a_raw_image_body_of_exactly_the_limit_is_accepted(make_client: AppFactory) -> None:
    client = make_client(max_upload_bytes=LIMIT)
    body = _jpeg_of_size(LIMIT)
    r = client.post("/classify", content=body, headers={"content-type": "image/jpeg"})
    assert r.status_code == 200, r.text
    r = client.post("/classify", content=body + b"x", headers={"content-type": "image/jpeg"})
    assert r.status_code == 413


def test_a_body_far_over_the_limit_is_refused_naming_the_advertised_limit(make_client: AppFactory) -> None:
    client = make_client(max_upload_bytes=LIMIT)
    big = _jpeg_of_size(LIMIT + 200_000)
    r = client.post("/v1/classify", files={"file": ("photo.jpg", big, "image/jpeg")})
    assert r.status_code == 413
    assert r.json() == {"error": f"File too large: the upload limit is {LIMIT} bytes."}
