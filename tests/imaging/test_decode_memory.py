"""A small file that decodes to a huge image must not take the server's memory with it.

Measured in fresh interpreters (peak RSS is per process and never goes down), on a 49-megapixel
transparent PNG of about 200 KB: under the pixel limit, so it is decoded, not refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

_MAKE = """
import sys
from PIL import Image
img = Image.new("RGBA", (7000, 7000), (200, 30, 30, 0))
img.paste((20, 200, 20, 255), (2000, 2000, 5000, 5000))
img.save(sys.argv[1], "PNG")
"""

_DECODE = """
import resource, sys
from capsight.imaging.decode import decode_image
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
decoded = decode_image(data, min_side=160)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
w, h = decoded.image.size
print((after - before) // 1024, decoded.width, decoded.height, w, h,
      *decoded.image.getpixel((w // 2, h // 2)), *decoded.image.getpixel((2, 2)))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KB is Linux's")
def test_a_huge_transparent_png_decodes_without_a_gigabyte(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    subprocess.run([sys.executable, "-c", _MAKE, str(path)], check=True)
    out = subprocess.run(
        [sys.executable, "-c", _DECODE, str(path)], capture_output=True, text=True, check=True
    )
    grew_mb, width, height, w, h, *pixels = (int(v) for v in out.stdout.split())
    # One 4-byte-per-pixel buffer of 49 MP is 196 MB: the load itself. The conversion to RGB on
    # white held five such buffers (~960 MB) before the image was shrunk first.
    assert grew_mb < 450, f"decoding took {grew_mb} MB"
    assert (width, height) == (7000, 7000)  # the answer reports the photo's own size
    assert min(w, h) >= 2 * 160  # shrunk, but to no less than twice what the model needs
    assert pixels[:3] == [20, 200, 20] and pixels[3:] == [255, 255, 255]  # green middle, transparent -> white
