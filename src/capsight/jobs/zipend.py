"""A zip's end of central directory record, found so that its archive comment cannot fake it.

Why: the record (22 bytes, then a comment of up to 64 KiB) is found by searching the zip's tail for
its signature ``PK\\x05\\x06``, and nothing stops the comment from holding those bytes: zipfile
writes such a zip happily. Taking the last signature, as zipfile's own search does (Python 3.11),
read the entry count from the comment (a valid zip refused 413, "65535 entries"), and zipfile
read its directory from there (400 "not a readable zip archive", or a zip of no files).

The record taken here is the last one whose comment ends exactly where the file does and whose
central directory lies just before it, where zipfile looks for it; when none is, the last signature
as before (zipfile then says what is wrong). ``open_zip`` hands zipfile a view of the zip that ends
with that record, its comment length read as 0, so zipfile reads the very record counted here.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SIGNATURE = b"PK\x05\x06"
RECORD_BYTES = 22
MAX_COMMENT = 0xFFFF
_CENTRAL = b"PK\x01\x02"  # a central directory entry
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_LOCATOR_BYTES = 20


@dataclass(frozen=True)
class EndRecord:
    offset: int  # where the record starts in the file
    record: bytes  # its 22 bytes, the comment length last

    @property
    def entries(self) -> int:
        """The total entry count (0xFFFF: see the zip64 record)."""
        return int.from_bytes(self.record[10:12], "little")

    @property
    def end(self) -> int:
        return self.offset + RECORD_BYTES


def _directory_before(fh: BinaryIO, offset: int, record: bytes) -> bool:
    """Whether the record's central directory (or a zip64 locator) is where zipfile looks for it:
    just before the record. A record faked in a comment declares a directory that is not there."""
    if offset >= _ZIP64_LOCATOR_BYTES:
        fh.seek(offset - _ZIP64_LOCATOR_BYTES)
        if fh.read(4) == _ZIP64_LOCATOR:
            return True
    entries = int.from_bytes(record[10:12], "little")
    size = int.from_bytes(record[12:16], "little")
    if size == 0:
        return entries == 0
    if size > offset:
        return False
    fh.seek(offset - size)
    return fh.read(4) == _CENTRAL


def find_end_record(fh: BinaryIO) -> EndRecord | None:
    """The zip's end record; None when its tail holds no whole one (``ZipFile`` says what is wrong)."""
    size = fh.seek(0, os.SEEK_END)
    tail_start = max(0, size - (RECORD_BYTES + MAX_COMMENT))
    fh.seek(tail_start)
    tail = fh.read()
    at = tail.rfind(SIGNATURE)
    last = at  # zipfile's choice
    while at >= 0:
        record = tail[at : at + RECORD_BYTES]
        if len(record) == RECORD_BYTES:
            comment = int.from_bytes(record[20:22], "little")
            if at + RECORD_BYTES + comment == len(tail) and _directory_before(fh, tail_start + at, record):
                return EndRecord(tail_start + at, record)
        at = tail.rfind(SIGNATURE, 0, at)
    if last < 0 or len(tail) - last < RECORD_BYTES:
        return None
    return EndRecord(tail_start + last, tail[last : last + RECORD_BYTES])


class _EndedAtRecord:
    """The zip read up to the end of its end record, whose comment length reads 0: zipfile then
    takes that record at once (its first check), never a signature in the comment."""

    def __init__(self, fh: BinaryIO, end: EndRecord) -> None:
        self._fh = fh
        self._end = end.end
        self._zeroed = end.end - 2  # the comment length field
        self.name = getattr(fh, "name", None)

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._fh.tell()

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        if whence == os.SEEK_END:
            return self._fh.seek(self._end + offset)
        return self._fh.seek(offset, whence)

    def read(self, n: int = -1, /) -> bytes:
        start = self._fh.tell()
        left = max(0, self._end - start)
        data = self._fh.read(left if n is None or n < 0 else min(n, left))
        stop = start + len(data)
        if stop > self._zeroed:
            cut = max(0, self._zeroed - start)
            data = data[:cut] + bytes(len(data) - cut)
        return data


@contextlib.contextmanager
def open_zip(path: Path) -> Iterator[zipfile.ZipFile]:
    """``zipfile.ZipFile(path)``, reading the end record ``find_end_record`` finds."""
    with open(path, "rb") as fh:
        end = find_end_record(fh)
        with zipfile.ZipFile(fh if end is None else _EndedAtRecord(fh, end)) as zf:
            yield zf
