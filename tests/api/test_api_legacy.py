"""The legacy ``POST /classify`` contract, kept exactly: body keys, field names, every error status."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.helpers import (
    AppFactory,
    FailingClassifier,
    jpeg,
    truncated_jpeg,
)
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, png_bomb_header


@pytest.mark.parametrize("label", ["background", "closed", "opened"])
def test_returns_exactly_label_and_confidence(client: TestClient, label: str) -> None:
    response = client.post("/classify", files={"file": ("photo.jpg", jpeg(label), "image/jpeg")})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"bottle_status", "confidence"}
    assert body["bottle_status"] == label
    assert 0.5 < body["confidence"] <= 1.0


@pytest.mark.parametrize(("fmt", "name"), [("HEIF", "IMG_0001.HEIC"), ("AVIF", "photo.avif")])
def test_iphone_heic_and_avif_photos_are_classified(client: TestClient, fmt: str, name: str) -> None:
    pytest.importorskip("pillow_heif").register_heif_opener()  # to write the test file only
    image = Image.new("RGB", (64, 48), LABEL_COLOURS["opened"])
    buf = io.BytesIO()
    image.save(buf, format=fmt, quality=90)
    response = client.post("/classify", files={"file": (name, buf.getvalue(), "image/heic")})
    assert response.status_code == 200, response.text
    assert response.json()["bottle_status"] == "opened"


def test_accepts_the_image_field_name(client: TestClient) -> None:
    response = client.post("/classify", files={"image": ("x.jpg", jpeg("opened"), "image/jpeg")})
    assert response.status_code == 200
    assert response.json()["bottle_status"] == "opened"


def test_accepts_a_raw_image_body(client: TestClient) -> None:
    response = client.post("/classify", content=jpeg("closed"), headers={"content-type": "image/jpeg"})
    assert response.status_code == 200
    assert response.json()["bottle_status"] == "closed"


def test_file_name_and_content_type_do_not_matter(client: TestClient) -> None:
    response = client.post("/classify", files={"file": ("notes.txt", jpeg("closed"), "text/plain")})
    assert response.json()["bottle_status"] == "closed"


def _assert_error(response_status: int, body: dict[str, str], status: int, fragment: str) -> None:
    assert response_status == status
    assert set(body) == {"error"}
    assert fragment.lower() in body["error"].lower()


def test_no_body_is_400(client: TestClient) -> None:
    r = client.post("/classify")
    _assert_error(r.status_code, r.json(), 400, "no file")


def test_multipart_without_a_file_field_is_400(client: TestClient) -> None:
    r = client.post("/classify", files={"photo": ("x.jpg", jpeg("closed"), "image/jpeg")})
    _assert_error(r.status_code, r.json(), 400, "no file")


def test_form_without_files_is_400(client: TestClient) -> None:
    r = client.post(
        "/classify", data={"file": ""}, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    _assert_error(r.status_code, r.json(), 400, "no file")


def test_empty_file_is_400(client: TestClient) -> None:
    r = client.post("/classify", files={"file": ("x.jpg", b"", "image/jpeg")})
    _assert_error(r.status_code, r.json(), 400, "empty")


def test_text_file_is_400(client: TestClient) -> None:
    r = client.post("/classify", files={"file": ("x.jpg", b"hello, I am not an image\n" * 10, "image/jpeg")})
    _assert_error(r.status_code, r.json(), 400, "not a supported image")


def test_truncated_jpeg_is_400(client: TestClient) -> None:
    r = client.post("/classify", files={"file": ("x.jpg", truncated_jpeg(), "image/jpeg")})
    _assert_error(r.status_code, r.json(), 400, "corrupt or truncated")


def test_a_jpeg_cut_short_but_closed_with_an_end_marker_is_400(client: TestClient) -> None:
    """Its missing half decoded as flat grey and got a label with 200, where the contract says 400."""
    data = truncated_jpeg() + b"\xff\xd9"
    r = client.post("/classify", files={"file": ("x.jpg", data, "image/jpeg")})
    _assert_error(r.status_code, r.json(), 400, "corrupt or truncated")


def test_malformed_multipart_is_400(client: TestClient) -> None:
    body = b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n' + jpeg("closed")
    r = client.post("/classify", content=body, headers={"content-type": "multipart/form-data; boundary=XYZ"})
    _assert_error(r.status_code, r.json(), 400, "malformed multipart")


def test_multipart_without_boundary_is_400(client: TestClient) -> None:
    r = client.post("/classify", content=b"whatever", headers={"content-type": "multipart/form-data"})
    _assert_error(r.status_code, r.json(), 400, "boundary")


def test_over_limit_by_content_length_is_413(make_client: AppFactory) -> None:
    client = make_client(max_upload_bytes=2_000)
    big = jpeg("closed", size=(400, 400)) + b"\x00" * 4_000
    r = client.post("/classify", files={"file": ("x.jpg", big, "image/jpeg")})
    _assert_error(r.status_code, r.json(), 413, "too large")
    assert "x-request-id" in r.headers


def test_over_limit_chunked_body_is_413(make_client: AppFactory) -> None:
    client = make_client(max_upload_bytes=2_000)
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        for _ in range(50):
            sent.append(1)
            yield b"\xff" * 500

    r = client.post("/classify", content=body(), headers={"content-type": "multipart/form-data; boundary=B"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    _assert_error(r.status_code, r.json(), 413, "too large")


def test_pixel_bomb_is_413_without_decoding(client: TestClient) -> None:
    r = client.post("/classify", files={"file": ("bomb.png", png_bomb_header(), "image/png")})
    _assert_error(r.status_code, r.json(), 413, "100000x100000")


def test_model_failure_is_500_with_a_plain_message(
    make_client: AppFactory, onnx_classifier: OnnxClassifier
) -> None:
    client = make_client(classifier=FailingClassifier(onnx_classifier))
    r = client.post("/classify", files={"file": ("x.jpg", jpeg("closed"), "image/jpeg")})
    _assert_error(r.status_code, r.json(), 500, "inference failed")
    assert "simulated" not in r.text  # internals stay in the log


def test_get_is_405_with_the_error_shape(client: TestClient) -> None:
    r = client.get("/classify")
    _assert_error(r.status_code, r.json(), 405, "method not allowed")
