"""A 32-bit BMP's fourth byte is alpha only when the file declares it, as browsers read it.

A BMP with the old 40-byte BITMAPINFOHEADER and BI_RGB has no alpha mask: the spec calls the fourth
byte unused, and writers fill it with 0, 255 or junk. Chromium's BMP reader (BMPImageReader::
ProcessBitmasks) ignores it outside ICO files "to match other browsers", and its bmpsuite test expects
q/rgb32fakealpha.bmp to look like the opaque rgb24.bmp; Firefox does the same. So a pixel whose fourth
byte is 0 shows its stored colour (black when the writer stored black), and the model sees what the
user saw: these tests keep it so. A BMP whose header declares an alpha mask (V4/V5, BI_BITFIELDS) is
transparent there in browsers, and is composited on white like a transparent PNG.
"""

from __future__ import annotations

import struct

from capsight.imaging.decode import decode_image

GREEN, RED, WHITE = (10, 200, 30), (220, 30, 30), (255, 255, 255)
WIDTH, HEIGHT = 8, 4


def _pixels(fourth_byte_left: int) -> bytes:
    """Bottom-up BGRA rows: the left half GREEN with ``fourth_byte_left``, the right half opaque RED."""
    left = bytes((GREEN[2], GREEN[1], GREEN[0], fourth_byte_left))
    right = bytes((RED[2], RED[1], RED[0], 255))
    return (left * (WIDTH // 2) + right * (WIDTH // 2)) * HEIGHT


def _bmp(info_header: bytes, pixels: bytes) -> bytes:
    offset = 14 + len(info_header)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info_header + pixels


def _v3_bi_rgb(pixels: bytes) -> bytes:
    """BITMAPINFOHEADER (40 bytes), 32 bits a pixel, BI_RGB: no alpha mask anywhere."""
    header = struct.pack("<IiiHHIIiiII", 40, WIDTH, HEIGHT, 1, 32, 0, len(pixels), 2835, 2835, 0, 0)
    return _bmp(header, pixels)


def _v5_with_alpha_mask(pixels: bytes) -> bytes:
    """BITMAPV5HEADER (124 bytes), BI_BITFIELDS, alpha mask 0xFF000000: alpha declared."""
    header = struct.pack("<IiiHHIIiiII", 124, WIDTH, HEIGHT, 1, 32, 3, len(pixels), 2835, 2835, 0, 0)
    header += struct.pack("<IIII", 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)
    header += b"sRGB" + bytes(36) + bytes(12)  # colour space type, endpoints, gamma
    header += struct.pack("<IIII", 4, 0, 0, 0)  # intent, profile data, profile size, reserved
    assert len(header) == 124
    return _bmp(header, pixels)


def test_a_v3_bmp_shows_its_stored_colour_where_the_fourth_byte_is_zero() -> None:
    decoded = decode_image(_v3_bi_rgb(_pixels(0)))
    assert decoded.image.getpixel((0, 0)) == GREEN  # opaque, as browsers show it: not on white
    assert decoded.image.getpixel((WIDTH - 1, 0)) == RED


def test_a_v3_bmp_whose_transparent_area_is_stored_black_stays_black() -> None:
    pixels = _pixels(0).replace(bytes((GREEN[2], GREEN[1], GREEN[0], 0)), bytes(4))
    decoded = decode_image(_v3_bi_rgb(pixels))
    assert decoded.image.getpixel((0, 0)) == (0, 0, 0)  # what Chromium and Firefox show
    assert decoded.image.getpixel((WIDTH - 1, HEIGHT - 1)) == RED


def test_a_bmp_that_declares_an_alpha_mask_is_composited_on_white() -> None:
    decoded = decode_image(_v5_with_alpha_mask(_pixels(0)))
    assert decoded.image.getpixel((0, 0)) == WHITE
    assert decoded.image.getpixel((WIDTH - 1, 0)) == RED
