"""The decode budget must count what a format's decoder holds while it loads, not only the image:
WebP goes through libwebp's animation decoder (its RGBA canvas, the previous canvas, and a copy handed
to Pillow), AVIF through libavif's YUV planes and an RGB buffer. A 49-megapixel WebP of 87 KB peaked
at 752 MB and an AVIF of 1 KB at 433 MB, while each reserved 186 MB (4 bytes a pixel)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from capsight.imaging.cost import decode_cost

SIZE = (400, 300)
PIXELS = SIZE[0] * SIZE[1]


def _opened(fmt: str, mode: str) -> Image.Image:
    buf = io.BytesIO()
    Image.new(mode, SIZE, (120, 50, 50, 128)[: len(mode)]).save(buf, fmt)
    return Image.open(io.BytesIO(buf.getvalue()))


@pytest.mark.parametrize("fmt", ["WEBP", "AVIF"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_webp_and_avif_reserve_what_their_decoders_hold(fmt: str, mode: str) -> None:
    image = _opened(fmt, mode)
    assert image.format == fmt
    # Measured: 16 bytes a pixel for WebP at load, 9 to 12 for 8-bit AVIF; budget units are 4 bytes.
    assert decode_cost(image) >= PIXELS * 16 // 4


def test_png_still_reserves_its_pixels_only() -> None:
    """libpng-style formats decode straight into the image: nothing is added for them."""
    assert decode_cost(_opened("PNG", "RGB")) == PIXELS
