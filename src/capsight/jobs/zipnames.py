"""A zip member's name as the person who made the zip wrote it.

Why: a zip says its names are UTF-8 only by a flag (general purpose bit 11), and Info-ZIP's ``zip``
(Linux, many scripts and NAS tools) stores UTF-8 names without it; Python's zipfile reads every
unflagged name as code page 437, so a job's rows named ``Fotos/Bär.jpg`` ``Fotos/B├ñr.jpg`` and no
client could match them to its files. As unzip, 7-Zip and libarchive do: Info-ZIP's Unicode Path
extra field (0x7075) when it is there and matches the name; else an unflagged name whose bytes are
valid UTF-8 is UTF-8 (text in code page 437 almost never is: it would need box-drawing characters
after accented ones); else it stays code page 437, which Windows' own "Send to zip" writes.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

UTF8_FLAG = 0x800
UNICODE_PATH = 0x7075


def _unicode_path(extra: bytes, raw: bytes) -> str | None:
    """The 0x7075 field's name, when it was written for this very name (its CRC-32 says so)."""
    at = 0
    while at + 4 <= len(extra):
        tag, size = struct.unpack_from("<2H", extra, at)
        body = extra[at + 4 : at + 4 + size]
        at += 4 + size
        if tag != UNICODE_PATH or len(body) < 5 or body[0] != 1:
            continue
        (crc,) = struct.unpack_from("<L", body, 1)
        if crc != zlib.crc32(raw):
            return None  # the name was changed after the field was written: the field is stale
        try:
            return body[5:].decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def member_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & UTF8_FLAG:
        return info.filename  # decoded as UTF-8 already
    try:
        raw = info.filename.encode("cp437")  # zipfile's decoding undone: the bytes in the zip
    except UnicodeEncodeError:
        return info.filename
    named = _unicode_path(info.extra, raw)
    if named is not None:
        return named
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return info.filename
