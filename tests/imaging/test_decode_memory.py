"""A small file that decodes to a huge image must not take the server's memory with it.

Measured in fresh interpreters (peak RSS is per process and never goes down), on a 49-megapixel
transparent PNG of about 200 KB: under the pixel limit, so it is decoded, not refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from imaging.fresh_decode import decode_in_fresh_process, linux_only, made_in_fresh_process

pytestmark = pytest.mark.slow

_MAKE = """
import sys
from PIL import Image
img = Image.new("RGBA", (7000, 7000), (200, 30, 30, 0))
img.paste((20, 200, 20, 255), (2000, 2000, 5000, 5000))
img.save(sys.argv[1], "PNG")
"""


@linux_only
def test_a_huge_transparent_png_decodes_without_a_gigabyte(tmp_path: Path) -> None:
    decoded = decode_in_fresh_process(made_in_fresh_process(_MAKE, tmp_path), tmp_path)
    # One 4-byte-per-pixel buffer of 49 MP is 196 MB: the load itself. The conversion to RGB on
    # white held five such buffers (~960 MB) before the image was shrunk first.
    assert decoded.grew_mb < 450, f"decoding took {decoded.grew_mb} MB"
    assert decoded.size == (7000, 7000)  # the answer reports the photo's own size
    assert min(decoded.shrunk) >= 2 * 160  # shrunk, but to no less than twice what the model needs
    assert decoded.pixel == (20, 200, 20) and decoded.corner == (
        255,
        255,
        255,
    )  # green middle, clear -> white
