"""The decode budget must count what a progressive JPEG holds: libjpeg keeps every DCT coefficient of
the full-size picture until the last scan (2 bytes each, 64 per 8x8 block of each component), whatever
scale it is drafted to. A 49-megapixel progressive JPEG of 575 KB held 285 MB while it reserved about
3 MB of the budget (its 875x875 draft), so a few of them side by side went far past the budget."""

from __future__ import annotations

import io

from PIL import Image

from capsight.imaging.cost import decode_cost

SIZE = (2000, 1500)


def _drafted(progressive: bool, subsampling: int) -> Image.Image:
    """A SIZE JPEG opened and drafted for a 224 px model, as decode_image has it when it reserves."""
    buf = io.BytesIO()
    Image.new("RGB", SIZE, (120, 50, 50)).save(buf, "JPEG", progressive=progressive, subsampling=subsampling)
    image = Image.open(io.BytesIO(buf.getvalue()))
    image.draft("RGB", (224, 224))
    assert image.size == (500, 375)  # 1/4 scale
    return image


def test_a_progressive_jpeg_reserves_its_full_size_coefficients() -> None:
    pixels = SIZE[0] * SIZE[1]
    # 4:4:4: three full-size components, 2 bytes a coefficient, 6 bytes a pixel; budget units are 4 bytes.
    assert decode_cost(_drafted(True, subsampling=0)) >= pixels * 6 // 4
    # 4:2:0: chroma at a quarter each, 3 bytes a pixel.
    assert decode_cost(_drafted(True, subsampling=2)) >= pixels * 3 // 4


def test_a_baseline_jpeg_still_reserves_only_its_draft() -> None:
    """A baseline JPEG streams: libjpeg holds a few rows of blocks, not the picture."""
    assert decode_cost(_drafted(False, subsampling=2)) < 500 * 375 * 2
