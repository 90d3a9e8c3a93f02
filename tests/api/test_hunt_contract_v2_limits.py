"""Bug hunt: the V2 infer contract: the per-image upload limit, exact as on every other path."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from api.helpers import AppFactory, jpeg

INFER = "/v2/models/bottle-status/infer"


def _request(*images: bytes, **extra: Any) -> dict[str, Any]:
    data = [base64.b64encode(image).decode("ascii") for image in images]
    return {"inputs": [{"name": "image", "shape": [len(images)], "datatype": "BYTES", "data": data}], **extra}


def _jpeg_of_size(size: int) -> bytes:
    """A valid JPEG of exactly ``size`` bytes: a comment (COM) segment pads it after the SOI marker."""
    image = jpeg("closed")
    payload = size - len(image) - 4
    assert 0 <= payload <= 65_533
    padded = image[:2] + b"\xff\xfe" + (payload + 2).to_bytes(2, "big") + b"c" * payload + image[2:]
    assert len(padded) == size
    return padded


LIMIT = 20_000


@pytest.mark.parametrize("over", [1, 2, 3])
def test_a_base64_image_over_the_upload_limit_by_a_few_bytes_is_413(
    make_client: AppFactory, over: int
) -> None:
    """The per-image limit is the same on every path: /v1 refuses LIMIT + 1 bytes, so must V2 (its
    cheap check on the base64 length left up to 3 bytes of slack)."""
    client = make_client(max_upload_bytes=LIMIT)
    r = client.post(INFER, json=_request(_jpeg_of_size(LIMIT + over)))
    assert r.status_code == 413, r.text
    assert r.json() == {"error": f"Input 'image' element 0 is over the {LIMIT}-byte limit."}
    multipart = client.post(
        "/v1/classify", files={"file": ("a.jpg", _jpeg_of_size(LIMIT + over), "image/jpeg")}
    )
    assert multipart.status_code == 413


def test_a_base64_image_of_exactly_the_upload_limit_is_classified(make_client: AppFactory) -> None:
    client = make_client(max_upload_bytes=LIMIT)
    r = client.post(INFER, json=_request(_jpeg_of_size(LIMIT)))
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][1]["data"] == ["closed"]
