"""A palette image (GIF, PNG-8) without transparency is made RGB once: the RGB result was copied
again by a second ``convert("RGB")``, another full-size 4-byte buffer (196 MB for 49 megapixels)
beyond what the decode budget reserves for it (``cost.py``: the palette image and one RGB image).

Measured in a fresh interpreter, as ``test_decode_memory`` does: peak RSS never goes down."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

_MAKE = """
import sys
from PIL import Image
image = Image.new("P", (7000, 7000), 1)
image.putpalette([0, 0, 0, 120, 50, 50])
image.save(sys.argv[1], sys.argv[2])
"""

_DECODE = """
import resource, sys
from capsight.imaging.decode import decode_image
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
decoded = decode_image(data, min_side=160)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) // 1024, decoded.image.mode, *decoded.image.getpixel((10, 10)))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KB is Linux's")
@pytest.mark.parametrize("fmt", ["GIF", "PNG"])
def test_a_huge_palette_image_is_made_rgb_in_one_buffer(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"flat.{fmt.lower()}"
    subprocess.run([sys.executable, "-c", _MAKE, str(path), fmt], check=True)
    out = subprocess.run(
        [sys.executable, "-c", _DECODE, str(path)], capture_output=True, text=True, check=True
    )
    grew_mb, mode, *pixel = out.stdout.split()
    assert mode == "RGB"
    assert [int(v) for v in pixel] == [120, 50, 50]
    # The 1-byte palette image (49 MB) and one RGB image (196 MB): about 245 MB. It was 422 MB.
    assert int(grew_mb) < 320, f"decoding took {grew_mb} MB"
