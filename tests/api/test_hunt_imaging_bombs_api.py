"""The decoder's new refusals reach clients as the contract says: a TIFF whose tiles exceed the pixel
limit is a 413, a JPEG with hundreds of scans and a CMYK JPEG cut short are 400s, each with an
``{"error": ...}`` body, on the legacy and the /v1 route alike."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image

from imaging.test_hunt_imaging_jpeg_scans import _progressive_jpeg, _with_last_scan_repeated
from imaging.test_hunt_imaging_tiff_tiles import _tiled_tiff


def _cmyk_cut_short() -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((400, 300), 64).convert("CMYK").save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    return data[: len(data) // 2] + b"\xff\xd9"


def test_decoder_refusals_are_4xx_with_the_error_shape(client: TestClient) -> None:
    cases = {
        "tile bomb": (_tiled_tiff(16, 16, 8192, bytes(16 * 16 * 3)), 413, "tiles"),
        "scan bomb": (_with_last_scan_repeated(_progressive_jpeg(), 2000), 400, "scans"),
        "cmyk cut short": (_cmyk_cut_short(), 400, "corrupt or truncated"),
    }
    wrong: list[str] = []
    for name, (data, status, words) in cases.items():
        for path in ("/classify", "/v1/classify"):
            response = client.post(path, files={"file": ("photo.jpg", data, "image/jpeg")})
            body = response.json()
            if response.status_code != status or set(body) != {"error"} or words not in body["error"]:
                wrong.append(f"{path} {name}: {response.status_code} {body}")
    assert not wrong, "\n".join(wrong)
