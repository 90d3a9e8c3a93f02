"""A GIF whose first frame covers only part of its canvas (logical screen) is on white elsewhere.

Browsers (Chromium's GIFImageDecoder, Firefox's nsGIFDecoder2) show the canvas a first frame leaves
bare as transparent, and we composite transparency on white. Pillow filled it with palette index 0,
whatever colour that is (here blue), so the model saw a frame around the picture the user never saw.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from capsight.imaging.cost import decode_cost
from capsight.imaging.decode import decode_image

BLUE, RED, WHITE = (30, 30, 220), (220, 30, 30), (255, 255, 255)
SCREEN = (12, 10)


def _lzw(indices: list[int], min_code_size: int = 2) -> bytes:
    """GIF image data: a clear code before each index, so the code width never grows."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    codes = [code for index in indices for code in (clear, index)] + [end]
    width, bits, nbits, out = min_code_size + 1, 0, 0, bytearray()
    for code in codes:
        bits |= code << nbits
        nbits += width
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        out.append(bits & 0xFF)
    blocks = b"".join(bytes([len(out[i : i + 255])]) + out[i : i + 255] for i in range(0, len(out), 255))
    return bytes([min_code_size]) + blocks + b"\x00"


def _gif(frame: tuple[int, int, int, int], index: int = 1, transparent: int | None = None) -> bytes:
    """GIF89a of a SCREEN canvas, palette [BLUE, RED, WHITE, black], one frame (left, top, w, h) of
    ``index``; a Graphic Control Extension naming ``transparent`` when given."""
    left, top, width, height = frame
    data = b"GIF89a" + struct.pack("<HHBBB", *SCREEN, 0x81, 0, 0)  # global table of 4 colours
    data += bytes([*BLUE, *RED, *WHITE, 0, 0, 0])
    if transparent is not None:
        data += b"\x21\xf9\x04" + struct.pack("<BHB", 0x01, 0, transparent) + b"\x00"
    data += b"\x2c" + struct.pack("<HHHHB", left, top, width, height, 0)
    return data + _lzw([index] * (width * height)) + b"\x3b"


def test_the_canvas_a_first_frame_leaves_bare_is_white() -> None:
    decoded = decode_image(_gif((3, 2, 6, 5)))
    image = np.asarray(decoded.image)
    assert (decoded.width, decoded.height) == SCREEN
    assert (image[2:7, 3:9] == RED).all()
    outside = np.ones(image.shape[:2], dtype=bool)
    outside[2:7, 3:9] = False
    assert (image[outside] == WHITE).all()  # was BLUE, palette index 0


def test_a_frame_of_index_zero_keeps_its_colour_inside() -> None:
    image = np.asarray(decode_image(_gif((0, 0, 4, 4), index=0)).image)
    assert (image[0:4, 0:4] == BLUE).all()
    assert (image[5:, 5:] == WHITE).all()


@pytest.mark.parametrize("transparent", [None, 0])
def test_a_frame_covering_the_canvas_keeps_every_pixel(transparent: int | None) -> None:
    image = np.asarray(decode_image(_gif((0, 0, *SCREEN), index=0, transparent=transparent)).image)
    assert (image == (WHITE if transparent == 0 else BLUE)).all()


def test_a_bare_canvas_with_a_transparent_index_is_white_too() -> None:
    image = np.asarray(decode_image(_gif((3, 2, 6, 5), transparent=0)).image)
    assert (image[2:7, 3:9] == RED).all() and (image[0, 0] == WHITE).all()


def test_the_decode_budget_counts_the_compositing() -> None:
    bare = Image.open(io.BytesIO(_gif((3, 2, 6, 5))))
    covered = Image.open(io.BytesIO(_gif((0, 0, *SCREEN))))
    assert decode_cost(bare) > decode_cost(covered)
