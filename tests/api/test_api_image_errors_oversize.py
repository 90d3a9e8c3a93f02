"""capsight_image_errors_total{status="413"} (the dashboard's "Rejected images by status") counted
an image over CAPSIGHT_MAX_UPLOAD_BYTES only inside a batch: the same photo posted alone to /classify
or /v1/classify, the usual way, was refused 413 and never counted, so the panel stayed empty while
every client's large photos were refused."""

from __future__ import annotations

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
