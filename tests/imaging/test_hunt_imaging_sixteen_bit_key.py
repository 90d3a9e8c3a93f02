"""16-bit PNGs with a colour key (tRNS): the pixels of the key's value are transparent, as in an 8-bit
PNG, and must come out on white like every other transparent pixel. Pillow keeps the key as a 16-bit
value (up to 65535) while it keeps the pixels as 8 or 16 bits, so the key used to match nothing."""

from __future__ import annotations

import struct
import zlib

from capsight.imaging.decode import decode_image

WHITE = (255, 255, 255)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, colour_type: int, row: bytes, trns: bytes, height: int = 4) -> bytes:
    """A 16-bit PNG of ``height`` copies of ``row`` (filter byte added) with a tRNS colour key."""
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    pixels = zlib.compress((b"\x00" + row) * height)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"tRNS", trns)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def test_keyed_16_bit_greyscale_png_is_white_where_transparent() -> None:
    key, dark = struct.pack(">H", 0x4000), struct.pack(">H", 0x2000)
    decoded = decode_image(_png(8, 0, key * 4 + dark * 4, key)).image
    assert decoded.getpixel((0, 0)) == WHITE
    assert decoded.getpixel((7, 0)) == (32, 32, 32)  # 0x2000 / 257, still opaque


def test_keyed_16_bit_truecolour_png_is_white_where_transparent() -> None:
    key = struct.pack(">HHH", 0x1234, 0x5678, 0x9ABC)
    black = b"\x00" * 6
    decoded = decode_image(_png(8, 2, key * 4 + black * 4, key)).image
    assert decoded.getpixel((0, 0)) == WHITE
    assert decoded.getpixel((7, 0)) == (0, 0, 0)


def _low_bit_grey_png(depth: int, row: bytes, key: int) -> bytes:
    header = struct.pack(">IIBBBBB", 8, 2, depth, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"tRNS", struct.pack(">H", key))
        + _chunk(b"IDAT", zlib.compress((b"\x00" + row) * 2))
        + _chunk(b"IEND", b"")
    )


def test_keyed_2_and_4_bit_greyscale_pngs_are_white_where_transparent() -> None:
    """The same for greys below 8 bits, which Pillow widens to 0-255 while it keeps the key as stored."""
    two_bit = decode_image(_low_bit_grey_png(2, bytes([0b01010101, 0b10101010]), key=1)).image
    assert two_bit.getpixel((0, 0)) == WHITE  # value 1 of 3: the key
    assert two_bit.getpixel((7, 0)) == (170, 170, 170)  # value 2 of 3, opaque
    four_bit = decode_image(_low_bit_grey_png(4, bytes([0x55, 0x55, 0xAA, 0xAA]), key=5)).image
    assert four_bit.getpixel((0, 0)) == WHITE
    assert four_bit.getpixel((7, 0)) == (170, 170, 170)


def test_keyed_16_bit_truecolour_png_with_a_profile_is_white_where_transparent() -> None:
    from imaging.icc import rgb_profile

    key = struct.pack(">HHH", 0x1234, 0x5678, 0x9ABC)
    png = _png(8, 2, key * 4 + b"\x00" * 24, key)
    icc = zlib.compress(rgb_profile())
    png = png[:33] + _chunk(b"iCCP", b"Adobe\x00\x00" + icc) + png[33:]  # after IHDR
    decoded = decode_image(png).image
    assert decoded.getpixel((0, 0)) == WHITE
    assert decoded.getpixel((7, 0)) == (0, 0, 0)
