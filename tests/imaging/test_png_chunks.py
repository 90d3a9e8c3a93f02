"""A PNG padded with a flood of empty chunks is refused before Pillow walks them one by one.

Pillow checks every chunk's CRC in Python, so a 16 MB 1x1 PNG of 1.3 million empty chunks held a
decode thread 2.5 s (7 s under load) while passing every pixel and memory check; real encoders write
a chunk per 8-64 KB of image data (see capsight/imaging/png_chunks.py)."""

from __future__ import annotations

import struct

import pytest

from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image
from capsight.imaging.png_chunks import MAX_PNG_CHUNKS, count_png_chunks
from png_flood import chunk, padded, png


def _idat_split(data: bytes, size: int) -> bytes:
    """``data`` with its image data re-cut into IDAT chunks of ``size`` bytes, as some encoders write."""
    out, idat, pos = [data[:8]], b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        elif kind == b"IEND":
            out += [chunk(b"IDAT", idat[i : i + size]) for i in range(0, len(idat), size)]
            out.append(chunk(b"IEND"))
        else:
            out.append(data[pos : pos + 12 + length])
        pos += 12 + length
    return b"".join(out)


def test_a_png_of_a_million_empty_chunks_is_refused() -> None:
    flood = padded(png(), 1_300_000)
    assert len(flood) < 16 * 1024 * 1024  # under the upload limit: only the chunk count gives it away
    with pytest.raises(InvalidImage, match="chunks"):
        decode_image(flood)


def test_pngs_as_encoders_write_them_still_decode() -> None:
    real = png(600, noise=True)  # ~1 MB of image data
    small_chunks = _idat_split(real, 256)  # a stingy encoder: ~4,200 IDAT chunks
    assert 4_000 < count_png_chunks(small_chunks) < MAX_PNG_CHUNKS
    decoded = decode_image(small_chunks)
    assert decoded.image.size == (600, 600)
    assert decoded.image.tobytes() == decode_image(real).image.tobytes()
    # Ancillary padding far past what encoders write, but under the limit, is still read.
    assert decode_image(padded(png(), 10_000)).image.size == (1, 1)


def test_counting_stops_at_the_limit_and_leaves_damage_to_the_decoder() -> None:
    flood = padded(png(), 5_000)
    assert count_png_chunks(flood) == 5_000 + 3  # IHDR, IDAT, IEND
    assert count_png_chunks(flood, limit=100) == 101  # no further than needed to refuse
    cut = png(64, noise=True)[:-30]  # truncated inside its last chunks
    with pytest.raises(InvalidImage, match="corrupt or truncated"):
        decode_image(cut)
