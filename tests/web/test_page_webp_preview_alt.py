"""The preview of a WebP photo while the page prepares it (reads the file for its EXIF orientation,
perhaps turns it), in real headless Chromium.

The <img> was shown with its alt text ("Preview of photo.webp") before it had a picture: Chromium drew
a broken-image box with the alt text in it where the photo was about to appear, and a screen reader
met an image with nothing in it. A JPEG (its picture set at once) is the control.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from web_support import read_result, upload

pytestmark = pytest.mark.browser

# Every moment the preview is on screen, what it shows: its alt text must come with a picture.
WATCH = """() => {
  const img = document.getElementById('preview');
  window.previewSeen = [];
  const look = () => {
    if (!img.hidden) window.previewSeen.push({src: img.getAttribute('src') || '', alt: img.alt});
  };
  new MutationObserver(look).observe(img, {attributes: true});
}"""


def _photo(fmt: str, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.new("RGB", (240, 120), (20, 20, 220)).save(buf, format=fmt, exif=exif.tobytes(), quality=90)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "mime", "fmt", "orientation"),
    [
        ("photo.webp", "image/webp", "WEBP", 1),
        ("phone.webp", "image/webp", "WEBP", 6),
        ("photo.jpg", "image/jpeg", "JPEG", 6),
    ],
)
def test_the_preview_never_shows_its_alt_text_without_a_picture(
    page: Any, name: str, mime: str, fmt: str, orientation: int
) -> None:
    page.evaluate(WATCH)
    upload(page, name, mime, _photo(fmt, orientation))
    read_result(page)
    page.wait_for_function(
        "() => { const i = document.getElementById('preview'); return i.complete && i.naturalWidth; }"
    )
    seen = page.evaluate("() => window.previewSeen")
    assert seen, "the preview was never shown"
    assert [s for s in seen if not s["src"]] == []
    assert {s["alt"] for s in seen} == {f"Preview of {name}"}
