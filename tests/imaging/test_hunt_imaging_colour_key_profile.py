"""A PNG colour key (tRNS on a truecolour or grey image) names *stored* pixel values. A photo that also
carries a non-sRGB ICC profile is converted to sRGB before the key is looked for: the transparent
pixels must still come out on white, not in the key's (converted) colour."""

from __future__ import annotations

import io

from PIL import Image

from capsight.imaging.decode import decode_image
from imaging.icc import rgb_profile

KEY = (10, 200, 30)


def _keyed_png(image: Image.Image, key: tuple[int, int, int] | int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", transparency=key, icc_profile=rgb_profile())
    return buf.getvalue()


def test_colour_keyed_rgb_png_with_an_adobe_rgb_profile_is_white_where_transparent() -> None:
    image = Image.new("RGB", (10, 10), KEY)
    image.paste((0, 0, 0), (5, 0, 10, 10))
    decoded = decode_image(_keyed_png(image, KEY)).image
    assert decoded.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.getpixel((9, 0)) == (0, 0, 0)  # opaque black is black in any RGB space


def test_colour_key_of_a_profiled_photo_survives_reduced_decoding() -> None:
    """The same with the decoder asked for fewer pixels than the image has (serving's path)."""
    image = Image.new("RGB", (1200, 900), KEY)
    image.paste((0, 0, 0), (600, 0, 1200, 900))
    decoded = decode_image(_keyed_png(image, KEY), min_side=224).image
    assert decoded.getpixel((10, 10)) == (255, 255, 255)
    assert decoded.getpixel((decoded.width - 10, 10)) == (0, 0, 0)
