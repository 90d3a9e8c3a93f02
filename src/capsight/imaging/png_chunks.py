"""A PNG split into an absurd number of chunks is refused before Pillow walks them; one whose
metadata Pillow refuses is read without it (``without_unreadable_metadata``).

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
import zlib

from PIL import PngImagePlugin

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


# Text chunks at Pillow's cap that one PNG may hold and still be read: real files have one or two.
_TEXT_CHUNKS_INFLATED = 8


def _inflated_size(compressed: bytes, limit: int) -> int:
    """How many bytes ``compressed`` (zlib) inflates to, counting no further than ``limit`` + 1; 0 when
    it is broken (Pillow reports that as before)."""
    try:
        return len(zlib.decompressobj().decompress(compressed, limit + 1))
    except zlib.error:
        return 0


def _compressed_text(kind: bytes, body: bytes) -> bytes | None:
    """The compressed data of a zTXt, compressed iTXt or iCCP chunk's ``body`` (Pillow inflates each
    with the same cap); None for other chunks."""
    keyword_end = body.find(b"\x00")
    if keyword_end < 0:
        return None
    if kind in (b"zTXt", b"iCCP"):  # keyword (a profile's name), 0, method, compressed data
        return body[keyword_end + 2 :]
    if kind == b"iTXt" and body[keyword_end + 1 : keyword_end + 2] == b"\x01":
        # keyword, 0, compressed (1), method, language, 0, translated keyword, 0, text
        language_end = body.find(b"\x00", keyword_end + 3)
        translated_end = body.find(b"\x00", language_end + 1) if language_end >= 0 else -1
        return body[translated_end + 1 :] if translated_end >= 0 else None
    return None


def _checksum_fails(kind: bytes, body: bytes, crc: bytes) -> bool:
    """Whether an ancillary chunk's CRC does not match it (a critical one's is the decoder's to judge)."""
    return bool(kind[0] & 0x20) and len(crc) == 4 and zlib.crc32(kind + body) != int.from_bytes(crc, "big")


def without_unreadable_metadata(data: bytes) -> bytes | None:
    """``data`` without the ancillary chunks Pillow refuses the whole PNG for, or None when it has none,
    or when its texts inflate past a few such chunks (a file built to be slow: still refused).

    Why: a photo whose pixels were fine was answered "corrupt or truncated" for its metadata. Pillow
    refuses a text or profile chunk whose compressed data inflates past its cap ("Decompressed data too
    large": an XMP grown by megabytes of Photoshop's document history, ImageMagick's hex "Raw profile
    type xmp", a printer's profile of megabytes, without which the pixels are read as sRGB), and an
    ancillary chunk whose checksum is wrong (a tool that edited the text and not its CRC), which
    libpng, and so every browser, leaves out. Nothing the service reads is lost but an orientation or
    transparency kept only in them. Called after Pillow failed, so other PNGs pay nothing; the
    inflating stops after a few megabytes (Pillow's own goes to 64 MB).
    """
    limit = PngImagePlugin.MAX_TEXT_CHUNK
    budget = _TEXT_CHUNKS_INFLATED * (limit + 1)  # each chunk counts at most ``limit`` + 1 bytes
    kept, dropped = [data[:_SIGNATURE_LENGTH]], False
    offset, end = _SIGNATURE_LENGTH, len(data)
    while offset + _HEADER.size <= end:
        length, kind = _HEADER.unpack_from(data, offset)
        stop = min(end, offset + _HEADER.size + length + 4)
        body = data[offset + _HEADER.size : stop - 4]
        compressed = _compressed_text(kind, body)
        size = _inflated_size(compressed, limit) if compressed is not None else 0
        budget -= size
        if budget < 0:
            return None
        if size > limit or _checksum_fails(kind, body, data[stop - 4 : stop]):
            dropped = True
        else:
            kept.append(data[offset:stop])
        offset = stop
        if kind == b"IEND":
            break
    kept.append(data[offset:])
    return b"".join(kept) if dropped else None
