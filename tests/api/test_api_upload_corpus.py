"""The upload corpus through both classify contracts: what phones, cameras, editors and browsers send
gets the documented answer (legacy ``200 {"bottle_status", "confidence"}``, ``/v1`` with the upright
size), and everything else a 400 or 413 with an ``{"error": ...}`` body: never a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient
from PIL import Image

from imaging import corpus
from model_factory import LABEL_COLOURS

OPENED = LABEL_COLOURS["opened"]


def _post(
    client: TestClient, path: str, data: bytes, name: str = "photo.jpg"
) -> tuple[int, dict[str, object]]:
    response = client.post(path, files={"file": (name, data, "image/jpeg")})
    return response.status_code, response.json()


def test_real_world_uploads_are_classified_by_both_contracts(client: TestClient) -> None:
    wrong: list[str] = []
    for build in corpus.DECODES_TO_ITS_COLOUR:
        data = build(OPENED)
        status, body = _post(client, "/classify", data)
        if (status, set(body), body.get("bottle_status")) != (200, {"bottle_status", "confidence"}, "opened"):
            wrong.append(f"/classify {build.__name__}: {status} {body}")
        status, body = _post(client, "/v1/classify", data)
        if status != 200 or body.get("label") != "opened":
            wrong.append(f"/v1/classify {build.__name__}: {status} {body}")
    assert not wrong, "\n".join(wrong)


def test_v1_reports_the_upright_size_of_a_rotated_phone_photo(client: TestClient) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # portrait photo stored landscape
    data = corpus.encode(Image.new("RGB", (1600, 900), OPENED), "JPEG", exif=exif.tobytes())
    status, body = _post(client, "/v1/classify", data)
    assert status == 200
    assert body["image"] == {"width": 900, "height": 1600, "format": "JPEG"}


def test_broken_and_foreign_uploads_are_400_with_the_error_shape(client: TestClient) -> None:
    wrong: list[str] = []
    cases = {**corpus.truncations(), **corpus.NOT_IMAGES}
    for name, data in cases.items():
        for path in ("/classify", "/v1/classify"):
            status, body = _post(client, path, data)
            if status != 400 or set(body) != {"error"} or not body["error"]:
                wrong.append(f"{path} {name}: {status} {body}")
    assert not wrong, "\n".join(wrong)
