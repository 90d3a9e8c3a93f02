"""A palette image with alpha (Pillow's "PA", what a TIFF with a colour map and an alpha channel opens
as) must keep its colours when the decoder shrinks it for the model: averaging palette *indexes*
names other palette entries, not the average colour."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from capsight.imaging.decode import decode_image

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def _striped_palette_tiff(side: int) -> bytes:
    """A ``side`` square PA TIFF of one-pixel red and blue stripes (indexes 1 and 2), fully opaque."""
    indexes = np.where(np.arange(side) % 2 == 0, 1, 2).astype(np.uint8)
    palette = Image.fromarray(np.tile(indexes, (side, 1)))
    image = Image.merge("PA", (palette, Image.new("L", (side, side), 255)))
    image.putpalette([0, 0, 0, *RED, *BLUE])
    buf = io.BytesIO()
    image.save(buf, "TIFF")
    return buf.getvalue()


def test_a_palette_image_with_alpha_keeps_its_colours_when_shrunk() -> None:
    data = _striped_palette_tiff(1000)
    full = decode_image(data).image
    assert full.getpixel((0, 0)) == RED and full.getpixel((1, 0)) == BLUE
    shrunk = np.asarray(decode_image(data, min_side=224).image, dtype=np.int64)
    # Whatever the decoder does, a pixel of red and blue stripes is red, blue or a mix of the two:
    # never a third palette entry (black), and never without its red or blue.
    assert (shrunk[:, :, 1] == 0).all()
    assert (shrunk[:, :, 0] + shrunk[:, :, 2] >= 254).all(), np.unique(shrunk.reshape(-1, 3), axis=0)[:5]
