"""A PNG with transparency (a cut-out product photo, a screenshot of a sticker) is previewed as the
model sees it, in real headless Chromium.

The server lays transparent pixels on white before it classifies (capsight.imaging.rgb). The preview
showed them over the drop zone's near-black backdrop instead: a dark bottle cut out on a transparent
background vanished into it, and the picture beside the answer was not the one the answer was about.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from web_support import read_result, upload

pytestmark = pytest.mark.browser


def _cut_out_bottle() -> bytes:
    image = Image.new("RGBA", (300, 400), (0, 0, 0, 0))
    image.paste((10, 40, 10, 255), (110, 60, 190, 360))  # a dark green bottle, opaque
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def test_transparent_parts_of_the_preview_are_white_as_the_server_sees_them(page: Any) -> None:
    upload(page, "bottle-cutout.png", "image/png", _cut_out_bottle())
    read_result(page)
    page.wait_for_function(
        "() => { const i = document.getElementById('preview'); return i.complete && i.naturalWidth; }"
    )
    shot = Image.open(io.BytesIO(page.locator("#preview").screenshot())).convert("RGB")
    w, h = shot.size
    assert shot.getpixel((w // 10, h // 10)) == (255, 255, 255)  # transparent corner: white
    bottle = shot.getpixel((w // 2, h // 2))
    assert isinstance(bottle, tuple) and bottle[1] < 80 and bottle[0] < 40  # the bottle as it is
