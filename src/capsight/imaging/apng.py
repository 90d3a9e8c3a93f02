"""An APNG whose default image is not part of its animation is read by its first frame.

Why: an APNG may carry a default image (its IDAT, before the first fcTL) for viewers that do not play
APNG: a poster, or a "your viewer cannot play this" card. Every browser plays APNG and never shows
that image: a page, our upload page included, shows the animation from its first frame, and that is
the picture the user sent; so it is the one classified, as for a GIF or an animated WebP. Pillow
counts the default image as frame 0, and seeking on to the first frame decodes the default image
first and, for a frame that blends "over", draws the frame on top of it, where the APNG rules start
the animation on a clear canvas. The first frame covers the whole canvas (the rules require it) and
is drawn on a clear one, so its pixels are its own: the file is rewritten as a still PNG of them
(every other chunk kept: palette, transparency, colour profile, EXIF) and decoded as any PNG, within
the same limits and budget. An APNG whose default image is its first frame, and every still PNG, is
left as it is: the walk stops at the first IDAT.
"""

from __future__ import annotations

import struct
import zlib

_SIGNATURE_LENGTH = 8
_HEADER = struct.Struct(">I4s")  # length, type; then the data and a 4-byte CRC
_FRAME_CONTROL = struct.Struct(">IIIII")  # sequence number, width, height, x offset, y offset
_ANIMATION_CHUNKS = frozenset({b"acTL", b"fcTL", b"fdAT", b"IDAT", b"IEND"})


def _chunks(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(type, data, whole chunk) of each chunk up to IEND; a truncated tail is left out."""
    found, offset, end = [], _SIGNATURE_LENGTH, len(data)
    while offset + _HEADER.size <= end:
        length, kind = _HEADER.unpack_from(data, offset)
        stop = offset + _HEADER.size + length + 4
        if stop > end:
            break
        found.append((kind, data[offset + _HEADER.size : stop - 4], data[offset:stop]))
        offset = stop
        if kind == b"IEND":
            break
    return found


def _chunk(kind: bytes, body: bytes) -> bytes:
    return _HEADER.pack(len(body), kind) + body + struct.pack(">I", zlib.crc32(kind + body))


def first_frame_png(data: bytes) -> bytes | None:
    """``data`` rewritten as a still PNG of its first animation frame when it is an APNG whose default
    image is not part of the animation; None for any other PNG, or an APNG not built by the rules
    (a first frame smaller than the canvas, no frame data), which is then read as Pillow reads it."""
    offset = _SIGNATURE_LENGTH
    while offset + _HEADER.size <= len(data):  # acTL comes before the first IDAT, or the file is still
        length, kind = _HEADER.unpack_from(data, offset)
        if kind == b"acTL":
            break
        if kind in (b"IDAT", b"fcTL", b"IEND"):
            return None
        offset += _HEADER.size + length + 4
    else:
        return None
    chunks = _chunks(data)
    kinds = [kind for kind, _, _ in chunks]
    if b"IDAT" not in kinds or b"fcTL" not in kinds or kinds.index(b"fcTL") < kinds.index(b"IDAT"):
        return None  # the default image is the first frame (fcTL before IDAT): Pillow's frame 0
    ihdr = chunks[0][1] if kinds[0] == b"IHDR" and len(chunks[0][1]) >= 8 else None
    first = kinds.index(b"fcTL")
    control = chunks[first][1]
    if ihdr is None or len(control) < _FRAME_CONTROL.size:
        return None
    _, width, height, x, y = _FRAME_CONTROL.unpack_from(control)
    if (width, height, x, y) != (*struct.unpack(">II", ihdr[:8]), 0, 0):
        return None
    frame_data = []
    for kind, body, _ in chunks[first + 1 :]:
        if kind == b"fcTL":
            break
        if kind == b"fdAT" and len(body) > 4:
            frame_data.append(_chunk(b"IDAT", body[4:]))  # less its sequence number
    if not frame_data:
        return None
    kept, placed = [data[:_SIGNATURE_LENGTH]], False
    for kind, _, whole in chunks:
        if kind == b"IDAT" and not placed:
            kept.extend(frame_data)
            placed = True
        elif kind not in _ANIMATION_CHUNKS:
            kept.append(whole)
    kept.append(_chunk(b"IEND", b""))
    return b"".join(kept)
