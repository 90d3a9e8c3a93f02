"""A GIF whose first frame declares a huge rectangle is refused before Pillow allocates it.

Pillow's GIF reader, opening the file, fills a buffer the size of the first frame's rectangle when the
frame's Graphic Control Extension asks for it to be disposed of (method 2 or 3), and grows the canvas
to hold the frame; its own bomb check is off (``decode.py`` checks pixels itself, after the open). The
mutation fuzz found a 1,055-byte GIF that took 2.7 GB and 1.8 s to be answered 413; a frame of
65535 x 65535 takes 4.3 GB. Measured in a fresh interpreter, as in ``test_decode_memory.py``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from capsight.errors import ImageTooLarge
from capsight.imaging.decode import decode_image
from imaging.fresh_decode import decode_in_fresh_process, linux_only

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


@linux_only
@pytest.mark.parametrize("disposal", [2, 3])
def test_a_gif_frame_too_large_is_refused_before_it_is_allocated(disposal: int, tmp_path: Path) -> None:
    decoded = decode_in_fresh_process(_gif(disposal), tmp_path)
    assert decoded.outcome == "ImageTooLarge"
    assert decoded.grew_mb < 100, f"refusing it took {decoded.grew_mb} MB"


def test_the_refusal_names_the_canvas_pillow_would_open() -> None:
    with pytest.raises(ImageTooLarge, match="20000x20000"):
        decode_image(_gif(2))
