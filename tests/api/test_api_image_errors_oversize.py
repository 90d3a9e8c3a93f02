"""capsight_image_errors_total{status="413"} (the dashboard's "Rejected images by status") counted
an image over CAPSIGHT_MAX_UPLOAD_BYTES only inside a batch: the same photo posted alone to /classify
or /v1/classify, the usual way, was refused 413 and never counted, so the panel stayed empty while
every client's large photos were refused."""

from __future__ import annotations

import base64
import gzip
import json
import struct
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.helpers import AppFactory

LIMIT = 3_000


def _refused_413(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "capsight_image_errors_total" and sample.labels == {"status": "413"}:
                return sample.value
    return 0.0


def _chunked(size: int) -> Iterator[bytes]:
    for _ in range(size // 1000):
        yield b"\xff" * 1000


@pytest.mark.parametrize("path", ["/classify", "/v1/classify"])
@pytest.mark.parametrize(
    "how",
    [
        "multipart",  # read and refused while the part arrives
        "multipart-declared",  # refused from its Content-Length, before a byte is read
        "raw",
        "raw-declared",
        "raw-chunked",
    ],
)
def test_an_image_over_the_size_limit_is_counted_as_a_refused_image(
    make_client: AppFactory, path: str, how: str
) -> None:
    client = make_client(max_upload_bytes=LIMIT)
    before = _refused_413(client.get("/metrics").text)
    size = 200_000 if how.endswith("declared") else LIMIT + 2_000
    if how.startswith("multipart"):
        response = client.post(path, files={"file": ("big.jpg", b"\xff" * size, "image/jpeg")})
    elif how == "raw-chunked":
        response = client.post(path, content=_chunked(size), headers={"Content-Type": "image/jpeg"})
    else:
        response = client.post(path, content=b"\xff" * size, headers={"Content-Type": "image/jpeg"})
    assert response.status_code == 413, response.text
    assert _refused_413(client.get("/metrics").text) == before + 1


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_large_body_sent_with_a_method_the_route_does_not_take_is_no_refused_image(
    make_client: AppFactory, method: str
) -> None:
    """Refused 413 all the same, but no image was sent to be classified."""
    client = make_client(max_upload_bytes=LIMIT)
    before = _refused_413(client.get("/metrics").text)
    response = client.request(method, "/classify", content=b"\xff" * 200_000)
    assert response.status_code == 413, response.text
    assert _refused_413(client.get("/metrics").text) == before


V2_INFER = "/v2/models/bottle-status/infer"


def _v2_base64(image: bytes) -> tuple[bytes, dict[str, str]]:
    data = base64.b64encode(image).decode("ascii")
    tensor = {"name": "image", "shape": [1], "datatype": "BYTES", "data": [data]}
    return json.dumps({"inputs": [tensor]}).encode(), {"Content-Type": "application/json"}


def _v2_binary(image: bytes) -> tuple[bytes, dict[str, str]]:
    """As tritonclient sends it: the image's bytes (length first) after the JSON header."""
    raw = struct.pack("<I", len(image)) + image
    tensor = {
        "name": "image",
        "shape": [1],
        "datatype": "BYTES",
        "parameters": {"binary_data_size": len(raw)},
    }
    header = json.dumps({"inputs": [tensor]}).encode()
    return header + raw, {"Inference-Header-Content-Length": str(len(header))}


@pytest.mark.parametrize("how", ["base64", "binary", "base64-gzip"])
def test_a_v2_image_over_the_size_limit_is_counted_as_a_refused_image(
    make_client: AppFactory, how: str
) -> None:
    """The same photo sent to /v2/models/.../infer (within the request's total limit, over the
    per-image one) was refused 413 and never counted, unlike /classify and a batch."""
    client = make_client(max_upload_bytes=LIMIT)
    before = _refused_413(client.get("/metrics").text)
    body, headers = (_v2_binary if how == "binary" else _v2_base64)(
        b"\xff\xd8\xff" + b"\x00" * (LIMIT + 2_000)
    )
    if how.endswith("gzip"):
        body, headers = gzip.compress(body), {**headers, "Content-Encoding": "gzip"}
    response = client.post(V2_INFER, content=body, headers=headers)
    assert response.status_code == 413, response.text
    assert response.json() == {"error": f"Input 'image' element 0 is over the {LIMIT}-byte limit."}
    assert _refused_413(client.get("/metrics").text) == before + 1


def test_a_v2_body_over_the_request_limit_is_no_refused_image(make_client: AppFactory) -> None:
    """Refused whole, as a batch over its total is: how many images it held is not known."""
    client = make_client(max_upload_bytes=LIMIT, max_batch_upload_bytes=LIMIT)
    before = _refused_413(client.get("/metrics").text)
    body, headers = _v2_base64(b"\xff" * 200_000)
    response = client.post(V2_INFER, content=body, headers=headers)
    assert response.status_code == 413, response.text
    assert _refused_413(client.get("/metrics").text) == before
