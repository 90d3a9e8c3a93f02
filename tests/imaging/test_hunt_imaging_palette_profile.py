"""A palette image (PNG-8, GIF) with an embedded ICC profile holds colours in that profile's space just
as a truecolour one does: it must be converted to sRGB the same way, else the same picture saved as
PNG-8 and as PNG-24 reaches the model as two different sets of pixels."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from capsight.imaging.decode import decode_image
from imaging.icc import rgb_profile

CAMERA_GREEN = (40, 170, 60)


def _png(image: Image.Image, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", icc_profile=rgb_profile(), **params)
    return buf.getvalue()


def test_a_palette_png_with_a_profile_decodes_like_its_truecolour_twin() -> None:
    truecolour = Image.new("RGB", (12, 8), CAMERA_GREEN)
    truecolour.paste((200, 30, 30), (6, 0, 12, 8))
    palette = truecolour.convert("P", palette=Image.Palette.ADAPTIVE)  # exact colours
    expected = np.asarray(decode_image(_png(truecolour)).image)
    assert tuple(expected[0, 0]) != CAMERA_GREEN  # the profile is applied to the truecolour one
    assert np.array_equal(np.asarray(decode_image(_png(palette)).image), expected)


def test_a_transparent_palette_png_with_a_profile_is_converted_and_white_where_transparent() -> None:
    truecolour = Image.new("RGB", (12, 8), CAMERA_GREEN)
    truecolour.paste((200, 30, 30), (6, 0, 12, 8))
    palette = truecolour.convert("P", palette=Image.Palette.ADAPTIVE)  # exact colours
    red_index = palette.getpixel((11, 0))
    decoded = decode_image(_png(palette, transparency=red_index)).image
    assert decoded.getpixel((11, 0)) == (255, 255, 255)
    assert decoded.getpixel((0, 0)) == decode_image(_png(truecolour)).image.getpixel((0, 0))
