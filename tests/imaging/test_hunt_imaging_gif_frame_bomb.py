"""A GIF whose first frame declares a huge rectangle is refused before Pillow allocates it.

Pillow's GIF reader, opening the file, fills a buffer the size of the first frame's rectangle when the
frame's Graphic Control Extension asks for it to be disposed of (method 2 or 3), and grows the canvas
to hold the frame; its own bomb check is off (``decode.py`` checks pixels itself, after the open). The
mutation fuzz found a 1,055-byte GIF that took 2.7 GB and 1.8 s to be answered 413; a frame of
65535 x 65535 takes 4.3 GB. Measured in a fresh interpreter, as in ``test_decode_memory.py``.
"""

from __future__ import annotations

import struct
import subprocess
import sys

import pytest

from capsight.errors import ImageTooLarge
from capsight.imaging.decode import decode_image

pytestmark = pytest.mark.slow

FRAME = (20_000, 20_000)  # 400 megapixels: 400 MB as Pillow's palette image


def _gif(disposal: int, frame: tuple[int, int] = FRAME) -> bytes:
    """GIF89a of a 40x30 screen whose one frame, at (0, 0), declares ``frame``, disposed by ``disposal``
    (method 3 with a transparent index: Pillow fills only then); its data is a clear code and an end
    code (Pillow allocates before it reads any)."""
    data = b"GIF89a" + struct.pack("<HHBBB", 40, 30, 0x81, 0, 0) + bytes([0, 0, 0, 255, 255, 255] * 2)
    data += b"\x21\xf9\x04" + bytes([disposal << 2 | (disposal == 3)]) + b"\x00\x00\x00\x00"
    data += b"\x2c" + struct.pack("<HHHHB", 0, 0, *frame, 0)
    return data + b"\x02\x02\x44\x01\x00\x3b"


_DECODE = """
import resource, sys
from capsight.errors import CapsightError
from capsight.imaging.decode import decode_image
data = bytes.fromhex(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    decode_image(data, min_side=160)
    outcome = "decoded"
except CapsightError as exc:
    outcome = type(exc).__name__
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, outcome)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KB is Linux's")
@pytest.mark.parametrize("disposal", [2, 3])
def test_a_gif_frame_too_large_is_refused_before_it_is_allocated(disposal: int) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _DECODE, _gif(disposal).hex()], capture_output=True, text=True, check=True
    )
    grew_mb, outcome = out.stdout.split()
    assert outcome == "ImageTooLarge"
    assert int(grew_mb) < 100, f"refusing it took {grew_mb} MB"


def test_the_refusal_names_the_canvas_pillow_would_open() -> None:
    with pytest.raises(ImageTooLarge, match="20000x20000"):
        decode_image(_gif(2))
