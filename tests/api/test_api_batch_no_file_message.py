"""A batch request carrying no image says how to send a batch, not a single image.

``curl -F photos=@a.jpg -F photos=@b.jpg .../v1/classify/batch`` (a field name the route does not
read) was answered "No file uploaded: send the image as multipart field 'file' (or 'image').", the
single-image advice, while the batch field README documents is ``files``, repeated. The single-image
routes keep their message word for word (the legacy contract's clients may match on it)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.helpers import jpeg

BATCH = "No file uploaded: send the images as multipart field 'files', repeated ('file' or 'image' also work)"
SINGLE = "No file uploaded: send the image as multipart field 'file' (or 'image')"


def test_a_batch_form_with_another_field_name_names_the_files_field(client: TestClient) -> None:
    photo = ("a.jpg", jpeg("closed"), "image/jpeg")
    r = client.post("/v1/classify/batch", files=[("photos", photo), ("photos", photo)])
    assert r.status_code == 400
    assert r.json() == {"error": f"{BATCH}."}


def test_a_batch_body_that_is_no_image_names_both_ways_to_send(client: TestClient) -> None:
    r = client.post(
        "/v1/classify/batch", content=b'{"files": []}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    message = r.json()["error"]
    assert message == (
        f"{BATCH}, or one image as the raw body, under any Content-Type but multipart/form-data"
        " (this request has Content-Type 'application/json' and a body that is not an image)."
    )


@pytest.mark.parametrize("path", ["/classify", "/v1/classify"])
def test_single_image_routes_keep_their_message(client: TestClient, path: str) -> None:
    r = client.post(path, files={"photo": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert r.status_code == 400
    assert r.json() == {"error": f"{SINGLE}."}
