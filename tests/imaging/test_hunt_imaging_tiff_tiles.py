"""A tiled TIFF's decoder (libtiff) allocates one whole tile, and a tile may be far larger than the
image: a 16x16 TIFF of 200 bytes declaring 8192x8192 tiles made the decoder take 200 MB (65520x65520
tiles: 12 GB) behind the pixel limit's back, since that limit looked at the image size only."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from capsight.errors import ImageTooLarge
from capsight.imaging.cost import decode_cost
from capsight.imaging.decode import decode_image

RED = (200, 20, 20)


def _tiled_tiff(width: int, height: int, tile: int, pixels: bytes) -> bytes:
    """A little-endian RGB TIFF with one deflate-compressed ``tile`` x ``tile`` tile of ``pixels``."""
    payload = zlib.compress(pixels)
    bps_offset = 8 + len(payload)
    ifd_offset = bps_offset + 6
    short, long_ = 3, 4
    entries = [
        (256, long_, 1, width),
        (257, long_, 1, height),
        (258, short, 3, bps_offset),  # BitsPerSample 8, 8, 8 (stored after the payload)
        (259, short, 1, 8),  # Adobe deflate
        (262, short, 1, 2),  # RGB
        (277, short, 1, 3),
        (284, short, 1, 1),
        (322, long_, 1, tile),  # TileWidth
        (323, long_, 1, tile),  # TileLength
        (324, long_, 1, 8),  # TileOffsets
        (325, long_, 1, len(payload)),  # TileByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HH", value, 0) if kind == short and count == 1 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    return (
        b"II*\x00" + struct.pack("<I", ifd_offset) + payload + struct.pack("<HHH", 8, 8, 8) + ifd + b"\0" * 4
    )


def test_a_small_tiff_with_a_tile_over_the_pixel_limit_is_refused_before_decoding() -> None:
    data = _tiled_tiff(16, 16, 8192, bytes(16 * 16 * 3))  # 67 megapixels a tile, default limit 50
    assert len(data) < 400
    with pytest.raises(ImageTooLarge, match="tile"):
        decode_image(data)


def test_the_tile_counts_against_a_configured_limit() -> None:
    data = _tiled_tiff(16, 16, 1024, bytes(16 * 16 * 3))
    with pytest.raises(ImageTooLarge):
        decode_image(data, max_pixels=1_000_000)


def test_tiles_larger_than_a_small_image_are_still_read() -> None:
    """What ``tiffcp -t`` writes for a small picture: one 256x256 tile, the image in its corner."""
    data = _tiled_tiff(100, 60, 256, bytes(RED) * 256 * 256)
    decoded = decode_image(data, max_pixels=100_000)
    assert (decoded.width, decoded.height) == (100, 60)
    assert decoded.image.getpixel((99, 59)) == RED


def test_the_decode_budget_counts_the_tile_the_decoder_holds() -> None:
    image = Image.open(io.BytesIO(_tiled_tiff(16, 16, 2048, bytes(16 * 16 * 3))))
    assert decode_cost(image) >= 2048 * 2048
