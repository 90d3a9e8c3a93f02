"""A transparent image too narrow to be shrunk first is made RGB without a gigabyte.

``decode.py`` shrinks a large image before ``_to_rgb`` composites its alpha on white, which for a
49-megapixel transparent PNG held five full-size buffers (~1 GB). The shrink is by the short side, so
a strip (1,630,000 x 30: 49 megapixels, under the pixel limit) is not shrunk at all, and the five
buffers came back: the mutation fuzz found a 154-byte animated WebP declaring a 1,048,616 x 30 canvas
that took 839 MB. Measured in a fresh interpreter, as in ``test_decode_memory.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imaging.fresh_decode import decode_in_fresh_process, linux_only, made_in_fresh_process

pytestmark = pytest.mark.slow

_MAKE = """
import sys
from PIL import Image
img = Image.new("RGBA", (1_630_000, 30), (200, 30, 30, 0))
img.paste((20, 200, 20, 255), (800_000, 10, 830_000, 20))
img.save(sys.argv[1], "PNG")
"""


@linux_only
def test_a_huge_transparent_strip_decodes_without_a_gigabyte(tmp_path: Path) -> None:
    decoded = decode_in_fresh_process(made_in_fresh_process(_MAKE, tmp_path), tmp_path, point=(815_000, 15))
    # The load itself is one 4-byte-per-pixel buffer of 49 MP (196 MB), the RGB answer another.
    assert decoded.grew_mb < 450, f"decoding took {decoded.grew_mb} MB"
    assert decoded.size == decoded.shrunk == (1_630_000, 30)
    assert decoded.pixel == (20, 200, 20) and decoded.corner == (
        255,
        255,
        255,
    )  # green middle, clear -> white
