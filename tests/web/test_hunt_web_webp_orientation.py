"""A phone photo saved as WebP with an EXIF orientation: the preview is turned as the server turned it.

The server applies the EXIF orientation before it classifies and reports the turned size. Chromium
applies it to a JPEG in <img> but draws a WebP as stored: the preview lay on its side (or upside
down) beside an answer about the upright photo. Measured in the real Chromium; the JPEG is the control.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image, ImageOps
from web_support import read_result, upload

pytestmark = pytest.mark.browser

RED, BLUE = (220, 20, 20), (20, 20, 220)
SIZE = (240, 120)

# The preview as the browser draws it (drawImage honours the orientation the <img> shows): its size and
# which corner is red.
PREVIEW = """() => {
  const i = document.getElementById('preview');
  if (!i.complete || !i.naturalWidth) return null;
  const c = document.createElement('canvas');
  c.width = i.naturalWidth; c.height = i.naturalHeight;
  const x = c.getContext('2d');
  x.drawImage(i, 0, 0);
  const red = (a, b) => { const d = x.getImageData(a, b, 1, 1).data; return d[0] > 150 && d[2] < 100; };
  const w = c.width - 6, h = c.height - 6;
  const corners = {tl: red(5, 5), tr: red(w, 5), bl: red(5, h), br: red(w, h)};
  return {size: [c.width, c.height], red: Object.keys(corners).filter(k => corners[k])};
}"""


def _stored(orientation: int, fmt: str) -> tuple[bytes, dict[str, Any]]:
    """A photo stored unturned, red in its top-left quarter, and what the server makes of it."""
    image = Image.new("RGB", SIZE, BLUE)
    image.paste(RED, (0, 0, SIZE[0] // 2, SIZE[1] // 2))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    image.save(buf, format=fmt, exif=exif.tobytes(), quality=95)
    turned = ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue())))
    w, h = turned.size
    corners = {"tl": (2, 2), "tr": (w - 3, 2), "bl": (2, h - 3), "br": (w - 3, h - 3)}
    red = [k for k, xy in corners.items() if turned.getpixel(xy)[0] > 150]  # type: ignore[index]
    return buf.getvalue(), {"size": [w, h], "red": red}


@pytest.mark.parametrize(
    ("orientation", "fmt", "mime"),
    [
        (1, "WEBP", "image/webp"),
        (6, "WEBP", "image/webp"),
        (8, "WEBP", "image/webp"),
        (3, "WEBP", "image/webp"),
        (5, "WEBP", "image/webp"),
        (6, "JPEG", "image/jpeg"),
    ],
)
def test_preview_of_a_photo_with_exif_orientation_is_turned_as_the_server_turned_it(
    page: Any, orientation: int, fmt: str, mime: str
) -> None:
    data, expected = _stored(orientation, fmt)
    assert len(expected["red"]) == 1
    upload(page, "photo." + fmt.lower(), mime, data)
    read_result(page)
    w, h = expected["size"]
    assert f"{w}\N{MULTIPLICATION SIGN}{h} px" in page.inner_text("#result-meta")  # the server turned it
    page.wait_for_function(PREVIEW)
    assert page.evaluate(PREVIEW) == expected
