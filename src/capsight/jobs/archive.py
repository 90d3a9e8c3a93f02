"""Zip uploads, read defensively: a zip is a list of claims by whoever made it.

``inspect_zip`` reads only the central directory (plus the first bytes of members whose name does
not say "image") and decides, before anything is written, what will be extracted: refusing the whole
upload when it claims more images or more uncompressed bytes than allowed (a zip bomb is a small file
that claims a lot), and skipping, with a reason the client can see, every member that is a folder,
a symlink, encrypted, hidden (``.DS_Store``, ``__MACOSX/._x.jpg``), a NAS thumbnail (``@eaDir/``),
not an image, over the per-image limit, or named so that it would land outside the job folder
(``../x``, ``/etc/x``, ``C:\\x``).

``extract`` then trusts none of those claims either: it counts the bytes it actually writes, per
member and in total, and stops at the declared sizes. A full disk raises ``DiskFull`` (the job fails)
instead of becoming each member's error row. What it extracts is fsynced, files and folders, before it
returns: the upload is deleted next, and a power cut must not take both (0.2 to 1 ms an image,
measured on a cloud VM disk: mostly the wait for its bytes to reach the disk).
"""

from __future__ import annotations

import contextlib
import lzma
import os
import re
import stat
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from capsight.errors import BadRequest, PayloadTooLarge
from capsight.imaging.files import named_like_image, sniffs_as_image
from capsight.jobs.diskfull import DiskFull, is_disk_full
from capsight.jobs.zipempty import NOT_AN_IMAGE, no_images_message
from capsight.jobs.zipend import find_end_record, open_zip
from capsight.jobs.zipnames import member_name
from capsight.jobs.zipread import member_pieces
from capsight.store.blobs import fsync_dir

CHUNK = 1024 * 1024
MAX_NAME_BYTES = 255
# The whole relative path: under Linux's 4096-byte PATH_MAX with room for data_dir and the job folder
# (past it, writing failed with ENAMETOOLONG and the row blamed a name clash the zip did not have).
MAX_PATH_BYTES = 2048
EXTRACTING = ".extracting.part"
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ZipLimits:
    max_images: int
    max_total_bytes: int  # uncompressed, all extracted members together
    max_image_bytes: int  # one member

    @property
    def max_entries(self) -> int:
        """Entries of any kind read at all: bounds the work spent on a zip of a million tiny files."""
        return 4 * self.max_images + 1000


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class ZipPlan:
    members: tuple[tuple[int, str], ...]  # (position in the zip's directory, safe relative path)
    skipped: tuple[Skipped, ...] = ()
    total_bytes: int = 0


@dataclass
class Extracted:
    complete: bool
    broken: list[tuple[str, str]] = field(default_factory=list)  # (relative path, error) of bad members


def safe_relative_name(name: str) -> str | None:
    """The member name as a relative path inside the job folder, or None when it could escape it."""
    text = name.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text) or "\x00" in text:
        return None
    # "." segments go: they cannot leave the folder, and bsdtar (the tar of macOS and Windows, which
    # people use to make zips) names every member "./photos/a.jpg"; refused, such a zip held "no images".
    parts = [p for p in text.split("/") if p and p != "."]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _skip_reason(info: zipfile.ZipInfo, rel: str | None, limits: ZipLimits) -> str | None:
    if rel is None:
        return "unsafe path (absolute, or with '..')"
    parts = rel.split("/")
    if parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
        return "hidden or resource-fork file"
    if "@eaDir" in parts[:-1]:  # as a batch run's folder walk does (capsight.batch.sources)
        return "NAS thumbnail folder (@eaDir)"
    if (
        any(len(p.encode("utf-8")) > MAX_NAME_BYTES for p in parts)
        or len(rel.encode("utf-8")) > MAX_PATH_BYTES
    ):
        return "name too long"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    if info.flag_bits & 0x1:
        return "encrypted"
    if info.file_size > limits.max_image_bytes:
        return f"larger than the per-image limit of {limits.max_image_bytes} bytes"
    return None


# What zipfile raises for headers it cannot read, besides BadZipFile: NotImplementedError for a
# "version needed to extract" above 6.3 or an unsupported method, UnicodeDecodeError (a ValueError)
# for a name flagged UTF-8 that is not. Uncaught, they were a 500, or failed the whole job.
_UNREADABLE = (zipfile.BadZipFile, NotImplementedError, ValueError, OSError)
# What reading a member's data raises for damaged data, by method: zlib.error (deflate), OSError
# (bzip2), lzma.LZMAError (LZMA: neither of those; uncaught, it failed the whole job, or was a 500
# when sniffing a member without an image name), EOFError (cut short), RuntimeError (encrypted).
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)


def _sniffs_as_image(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """An image without an image suffix is still an image; reading 16 bytes inflates almost nothing."""
    pieces = member_pieces(zf, info, 64)
    try:
        return sniffs_as_image(next(pieces, b""))
    except (*_UNREADABLE, *_DAMAGED):
        return False
    finally:
        pieces.close()


_ZIP64_LOCATOR = b"PK\x06\x07"


def declared_entries(path: Path) -> int | None:
    """The entry count the zip's end record declares, read without parsing its directory.

    Why: ``zipfile.ZipFile`` builds an object per directory entry before anyone can count them: a
    47 MB zip of a million one-byte names cost 350 MB of memory and 6 s before it was refused. The
    end record (and, for zip64, its locator and record) holds the count in a few bytes: the record
    ``open_zip`` has zipfile read (see ``zipend``). None when no end record is found (``ZipFile``
    then says what is wrong).
    """
    with open(path, "rb") as fh:
        end = find_end_record(fh)
        if end is None:
            return None
        at = end.offset
        if end.entries != 0xFFFF or at < 20:
            return end.entries
        fh.seek(at - 20)
        locator = fh.read(20)
        if locator[:4] != _ZIP64_LOCATOR:
            return end.entries
        record_offset = int.from_bytes(locator[8:16], "little")  # the zip64 end record
        size = fh.seek(0, os.SEEK_END)
        if record_offset + 56 > size:
            return None
        fh.seek(record_offset)
        record = fh.read(56)
        return int.from_bytes(record[32:40], "little") if record[:4] == b"PK\x06\x06" else None


def inspect_zip(path: Path, limits: ZipLimits) -> ZipPlan:
    """Raises BadRequest (not a zip) or PayloadTooLarge (too many images or bytes)."""
    try:
        declared = declared_entries(path)
    except OSError as exc:
        raise BadRequest("The upload is not a readable zip archive.") from exc
    if declared is not None and declared > limits.max_entries:
        raise PayloadTooLarge(f"The zip has {declared} entries; the limit is {limits.max_entries}.")
    with contextlib.ExitStack() as stack:
        try:
            zf = stack.enter_context(open_zip(path))
        except _UNREADABLE as exc:
            raise BadRequest("The upload is not a readable zip archive.") from exc
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise PayloadTooLarge(f"The zip has {len(infos)} entries; the limit is {limits.max_entries}.")
        members: list[tuple[int, str]] = []
        skipped: list[Skipped] = []
        seen: set[str] = set()
        total = 0
        for position, info in enumerate(infos):
            if not info.filename:  # a 0-length name, or one that starts with NUL (zipfile cuts it
                # there): ZipInfo.is_dir() raised IndexError on it, a 500
                skipped.append(Skipped("", "empty name"))
                continue
            if info.is_dir():
                continue
            name = member_name(info)  # UTF-8 without the zip's flag saying so (Info-ZIP) too
            rel = safe_relative_name(name)
            reason = _skip_reason(info, rel, limits)
            if reason is None and rel in seen:
                reason = "duplicate name"
            named_image = named_like_image(rel or "")
            if reason is None and not named_image and not _sniffs_as_image(zf, info):
                reason = NOT_AN_IMAGE
            if reason is not None or rel is None:
                skipped.append(Skipped(name, reason or "unsafe path"))
                continue
            seen.add(rel)
            members.append((position, rel))
            total += info.file_size
    if len(members) > limits.max_images:
        raise PayloadTooLarge(
            f"The zip holds {len(members)} images; the limit is {limits.max_images} per job."
        )
    if total > limits.max_total_bytes:
        raise PayloadTooLarge(
            f"The zip's images would take {total} bytes uncompressed; the limit is {limits.max_total_bytes}."
        )
    if not members:
        raise BadRequest(no_images_message([(s.name, s.reason) for s in skipped]))
    return ZipPlan(tuple(members), tuple(skipped), total)


def _inside(path: Path, root: Path) -> bool:
    return root == path or root in path.parents


def extract(archive: Path, plan: ZipPlan, dest: Path, cancel: threading.Event | None = None) -> Extracted:
    """Write the planned members under ``dest``. A member that fails to inflate (bad CRC, truncated)
    becomes a broken entry, reported as that image's error row; it does not fail the job."""
    root = dest.resolve()
    root.mkdir(parents=True, exist_ok=True)
    result = Extracted(complete=False)
    written_total = 0
    folders = {root}  # each written member's folder and the folders between it and root
    with open_zip(archive) as zf:
        infos = zf.infolist()  # by position: a crafted zip may hold one name twice
        for position, rel in plan.members:
            if cancel is not None and cancel.is_set():
                return result
            info = infos[position]
            target = (root / rel).resolve()
            if not _inside(target, root):  # defence in depth: safe_relative_name already refused it
                result.broken.append((rel, "UnsafePath: refused"))
                continue
            try:
                # "x.jpg" and "x.jpg/y.jpg" in one zip: whichever comes second cannot be written. That
                # member gets its own error row; the job goes on.
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_dir():
                    raise IsADirectoryError("a folder of the same name is in the zip")
            except OSError as exc:
                if is_disk_full(exc):
                    raise DiskFull() from exc
                result.broken.append(
                    (rel, "NameClash: another member of the zip has a path through this name")
                )
                continue
            try:
                written = _copy_member(zf, info, target, plan.total_bytes - written_total)
            except _DAMAGED as exc:
                result.broken.append((rel, f"CorruptArchiveMember: {exc}"))
                continue
            except OSError as exc:  # never show the server's own paths (exc.filename) to the client
                if is_disk_full(exc):  # the server's trouble: not this member's error row
                    raise DiskFull() from exc
                result.broken.append((rel, f"CorruptArchiveMember: {exc.strerror or type(exc).__name__}"))
                continue
            written_total += written
            folders.update(p for p in target.parents if _inside(p, root))
    # Deepest first: a folder's fsync makes its entries durable, the names of the folders in it too.
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(folder)
    result.complete = True
    return result


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    written = 0
    limit = min(info.file_size, budget)
    # A fixed name, not ".<name>.part": a member's own name may take all 255 bytes the file system
    # allows. Hidden names are never members, and one job extracts one member at a time.
    tmp = target.with_name(EXTRACTING)
    try:
        with open(tmp, "wb") as dst:
            for chunk in member_pieces(zf, info, CHUNK):
                written += len(chunk)
                if written > limit:
                    raise zipfile.BadZipFile("member inflates past its declared size")
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return written
