"""A PNG split into an absurd number of chunks is refused before Pillow walks them.

Why: Pillow reads a PNG chunk by chunk, checking each one's CRC in Python, so the work grows with
the number of chunks, not with pixels or bytes. A 16 MB upload of a 1x1 PNG padded with 1.3 million
empty chunks took 2.5 s of a decode thread on an idle core (7 s under load), against 0.02 s for a
real 1500x1500 PNG of the same size: a few such uploads held the decode pool that every other PNG,
WebP or TIFF waits for, and the pixel and memory checks saw nothing wrong. Real encoders write a
chunk per 8-64 KB of image data (a 16 MB PNG has a few thousand); the limit leaves a hundred times
that, so only a file built to be slow meets it. Walking the chunk headers costs well under 1 ms for
a real PNG and stops at the limit for a hostile one.
"""

from __future__ import annotations

import struct

from capsight.errors import InvalidImage

MAX_PNG_CHUNKS = 100_000
_SIGNATURE_LENGTH = 8
_HEADER = struct.Struct(">I4s")  # length, type; then the data and a 4-byte CRC


def count_png_chunks(data: bytes, limit: int = MAX_PNG_CHUNKS) -> int:
    """Chunks up to and including IEND (or the end of ``data``), counting no further than ``limit``
    + 1. A truncated or malformed tail is left for the decoder to report."""
    offset, count, end = _SIGNATURE_LENGTH, 0, len(data)
    while offset + _HEADER.size <= end and count <= limit:
        length, kind = _HEADER.unpack_from(data, offset)
        count += 1
        if kind == b"IEND":
            break
        offset += _HEADER.size + length + 4
    return count


def check_png_chunks(data: bytes, limit: int = MAX_PNG_CHUNKS) -> None:
    """InvalidImage for a PNG of more than ``limit`` chunks (see the module's why)."""
    if count_png_chunks(data, limit) > limit:
        raise InvalidImage(
            f"The PNG is split into more than {limit:,} chunks, which no image encoder writes: "
            "re-save the picture as PNG or JPEG."
        )
