"""A transparent image too narrow to be shrunk first is made RGB without a gigabyte.

``decode.py`` shrinks a large image before ``_to_rgb`` composites its alpha on white, which for a
49-megapixel transparent PNG held five full-size buffers (~1 GB). The shrink is by the short side, so
a strip (1,630,000 x 30: 49 megapixels, under the pixel limit) is not shrunk at all, and the five
buffers came back: the mutation fuzz found a 154-byte animated WebP declaring a 1,048,616 x 30 canvas
that took 839 MB. Measured in a fresh interpreter, as in ``test_decode_memory.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

_MAKE = """
import sys
from PIL import Image
img = Image.new("RGBA", (1_630_000, 30), (200, 30, 30, 0))
img.paste((20, 200, 20, 255), (800_000, 10, 830_000, 20))
img.save(sys.argv[1], "PNG")
"""

_DECODE = """
import resource, sys
from capsight.imaging.decode import decode_image
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
decoded = decode_image(data, min_side=160)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) // 1024, decoded.width, decoded.height, *decoded.image.size,
      *decoded.image.getpixel((815_000, 15)), *decoded.image.getpixel((2, 2)))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KB is Linux's")
def test_a_huge_transparent_strip_decodes_without_a_gigabyte(tmp_path: Path) -> None:
    path = tmp_path / "strip.png"
    subprocess.run([sys.executable, "-c", _MAKE, str(path)], check=True)
    out = subprocess.run(
        [sys.executable, "-c", _DECODE, str(path)], capture_output=True, text=True, check=True
    )
    grew_mb, width, height, w, h, *pixels = (int(v) for v in out.stdout.split())
    # The load itself is one 4-byte-per-pixel buffer of 49 MP (196 MB), the RGB answer another.
    assert grew_mb < 450, f"decoding took {grew_mb} MB"
    assert (width, height) == (w, h) == (1_630_000, 30)
    assert pixels[:3] == [20, 200, 20] and pixels[3:] == [255, 255, 255]  # green middle, transparent -> white
