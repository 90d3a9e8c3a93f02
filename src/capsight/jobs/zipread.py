"""A zip member's data, inflated a bounded piece at a time whatever its compression method.

Why: Python's zipfile inflates deflate in bounded pieces, but hands bzip2 (method 12) and LZMA
(method 14) data to the decompressor whole on each read: a 179-byte bzip2 member declaring 1000
bytes became 64 MiB in memory on the first read of 64 bytes, and a 1 MiB read of such data gigabytes,
before any size check could count what came out. Here those two are read raw through zipfile (which
still checks the local header) and inflated with a ``max_length``.
"""

from __future__ import annotations

import bz2
import copy
import lzma
import zipfile
import zlib
from collections.abc import Generator
from typing import Any

RAW_PIECE = 64 * 1024  # compressed bytes read at a time
_LZMA_HEADER = 4  # zipfile's: 2 bytes of LZMA SDK version, 2 of the properties' size


def member_pieces(zf: zipfile.ZipFile, info: zipfile.ZipInfo, piece: int) -> Generator[bytes, None, None]:
    """The member's bytes in pieces of at most ``piece`` bytes; raises what zipfile raises for
    damaged data (BadZipFile for a bad CRC, EOFError, zlib.error, lzma.LZMAError, OSError)."""
    if info.compress_type not in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        with zf.open(info) as fh:  # stored, or deflate: bounded by zipfile itself
            while chunk := fh.read(piece):
                yield chunk
        return
    raw = copy.copy(info)
    raw.compress_type = zipfile.ZIP_STORED
    raw.file_size = info.compress_size
    raw.CRC = None  # type: ignore[assignment]  # the CRC is of the inflated bytes: checked below
    with zf.open(raw) as fh:
        decompressor = _decompressor(info, fh)
        crc = 0
        while not decompressor.eof:
            data = b""
            if decompressor.needs_input:
                data = fh.read(RAW_PIECE)
                if not data:
                    break  # LZMA without an end marker ends with its data; else the CRC tells
            chunk = decompressor.decompress(data, piece)
            if chunk:
                crc = zlib.crc32(chunk, crc)
                yield chunk
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")


def _decompressor(info: zipfile.ZipInfo, fh: Any) -> Any:
    if info.compress_type == zipfile.ZIP_BZIP2:
        return bz2.BZ2Decompressor()
    header = fh.read(_LZMA_HEADER)
    if len(header) < _LZMA_HEADER:
        raise EOFError("LZMA member cut short")
    props = fh.read(int.from_bytes(header[2:4], "little"))
    if len(props) != 5:
        raise zipfile.BadZipFile("LZMA member with properties that are not 5 bytes")
    lc, rest = props[0] % 9, props[0] // 9
    # A dictionary past what the member inflates to is never used, and liblzma allocates all of it
    # up front: 4 GiB for a crafted header.
    dict_size = min(int.from_bytes(props[1:5], "little"), max(info.file_size, 4096))
    lzma1 = {"id": lzma.FILTER_LZMA1, "lc": lc, "lp": rest % 5, "pb": rest // 5, "dict_size": dict_size}
    return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])
