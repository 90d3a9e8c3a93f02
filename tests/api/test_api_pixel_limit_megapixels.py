"""A photo over the pixel limit was refused with "Image has 9000x7000 pixels; the limit is 50000000
pixels.": eight digits to count before anyone (the page shows this line as it is) could tell 50 million
from 5 million. The answer now says both in megapixels, the image's never rounded down to the limit."""

from __future__ import annotations

import io

from PIL import Image

from api.helpers import AppFactory, png


def _blank_png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("1", size).save(out, "PNG")  # 1 bit a pixel: 63 megapixels in a few KB
    return out.getvalue()


def test_a_63_megapixel_photo_is_refused_in_megapixels(make_client: AppFactory) -> None:
    client = make_client()  # the default limit, CAPSIGHT_MAX_PIXELS=50000000
    r = client.post("/v1/classify", files={"file": ("pano.png", _blank_png((9000, 7000)), "image/png")})
    assert r.status_code == 413
    assert r.json() == {"error": "Image has 9000x7000 pixels (63.0 megapixels); the limit is 50 megapixels."}


def test_a_small_configured_limit_is_written_exactly(make_client: AppFactory) -> None:
    client = make_client(max_pixels=1000)
    r = client.post("/v1/classify", files={"file": ("x.png", png("opened", (300, 200)), "image/png")})
    assert r.status_code == 413
    assert r.json() == {"error": "Image has 300x200 pixels (0.06 megapixels); the limit is 0.001 megapixels."}
