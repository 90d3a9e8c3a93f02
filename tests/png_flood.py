"""PNGs for the chunk-flood tests (imaging/test_png_chunks.py, api/test_api_png_chunk_flood.py)."""

from __future__ import annotations

import io
import os
import struct
import zlib

from PIL import Image

_IHDR_END = 8 + 25  # signature, then IHDR: length, type, 13 bytes, CRC


def chunk(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(size: int = 1, *, noise: bool = False) -> bytes:
    buf = io.BytesIO()
    pixels = os.urandom(size * size * 3) if noise else bytes(size * size * 3)
    Image.frombytes("RGB", (size, size), pixels).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def padded(data: bytes, empty_chunks: int) -> bytes:
    """``data`` with that many empty private ancillary chunks after IHDR (valid CRCs: Pillow skips them)."""
    return data[:_IHDR_END] + chunk(b"zzZz") * empty_chunks + data[_IHDR_END:]
