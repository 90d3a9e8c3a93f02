"""Receiving a job's zip: the multipart stream goes straight to a file, never into memory.

Same push parser as the image uploads (``api/uploads.py``), but the ``file`` part is written to
``<dest>.part`` chunk by chunk and renamed when the body ends, so a half-received upload never looks
like a zip. Small text fields (``webhook_url``) are kept, capped at a few KB each; any other field,
a second zip or a repeated field is a 400. The body limit itself is also enforced by the size middleware (from
Content-Length, at once); counting here covers chunked bodies and the part alone. Chunks are
written from the event loop: a page-cache write of one 64 KB chunk costs microseconds, less than
handing each chunk to a thread.

Disk: the part file grows inside the job folder's reservation of this replica's disk budget for job
files (``jobs/diskbudget.py``), taken ahead in steps of ``GROW_STEP``, so an upload that would not
fit is refused while it streams (413 or 503) instead of filling the data disk. A disk that is full
anyway (``ENOSPC``: a laptop, a volume shared with other things) is ``507``, not a 500; either way
the partial file is removed. The finished upload is fsynced (file and folders) before the job is
accepted: 5 to 10 ms for a 17 MB zip, measured on a cloud VM disk.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from starlette.requests import Request

from capsight.api.multipart import PartCallbacks, feed_multipart
from capsight.errors import BadRequest, MissingFile, PayloadTooLarge
from capsight.jobs.diskbudget import DiskBudget
from capsight.jobs.diskfull import DiskFull, is_disk_full
from capsight.store.blobs import fsync_dir

FILE_FIELD = "file"
TEXT_FIELDS = frozenset({"webhook_url"})
MAX_TEXT_BYTES = 4096
MAX_PARTS = 20
GROW_STEP = 8 * 1024 * 1024  # reservation taken ahead of the bytes: one budget lock per 8 MB, not per chunk
UPLOAD_DISK_FULL = (
    "The server's disk is full: it cannot keep this upload (nothing is wrong with the zip). "
    "Retry later, or tell the server's operator."
)


class UploadDiskFull(DiskFull):
    """507 Insufficient Storage: the disk itself, not the budget, ran out while the upload was written."""

    default_message = UPLOAD_DISK_FULL


@dataclass
class ReceivedUpload:
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)


class _ZipPartWriter(PartCallbacks):
    def __init__(self, dest: Path, max_bytes: int, budget: DiskBudget | None, reserved: int) -> None:
        super().__init__(MAX_PARTS)
        self.dest = dest
        self.max_bytes = max_bytes
        self.budget = budget
        self.reserved = reserved  # bytes of the job folder's budget reservation already held
        self.result = ReceivedUpload()
        self.has_file = False
        self._file: IO[bytes] | None = None
        self._text: bytearray | None = None
        self._text_name = ""

    def on_headers_finished(self) -> None:
        """Refuses what the form does not take, as the JSON body does: an unknown field was ignored,
        so a misspelt ``webhook`` gave a job that never called back, and a second zip was dropped."""
        name, _ = self.disposition()
        if name == FILE_FIELD or name in TEXT_FIELDS:
            self.refuse_transfer_encoding(name)
        if name == FILE_FIELD:
            if self.has_file:
                raise BadRequest(f"More than one {FILE_FIELD!r} part: send one zip per job.")
            self.has_file = True
            self._file = open(self.dest.with_name(self.dest.name + ".part"), "wb")  # noqa: SIM115
        elif name in TEXT_FIELDS:
            if name in self.result.fields:
                raise BadRequest(f"Form field {name!r} is sent more than once.")
            self._text, self._text_name = bytearray(), name
        else:
            raise BadRequest(
                f"Unknown form field {name[:100]!r}: send the zip as {FILE_FIELD!r}, and optionally "
                f"{', '.join(map(repr, sorted(TEXT_FIELDS)))}."
            )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self.result.size += end - start
            if self.result.size > self.max_bytes:
                raise PayloadTooLarge(f"File too large: the job upload limit is {self.max_bytes} bytes.")
            # before_chunk reserved room for the whole chunk: no file byte is written past it
            assert self.budget is None or self.result.size <= self.reserved
            self._file.write(data[start:end])
        elif self._text is not None:
            self._text += data[start:end]
            if len(self._text) > MAX_TEXT_BYTES:
                raise BadRequest(f"Form field '{self._text_name}' is longer than {MAX_TEXT_BYTES} bytes.")

    async def before_chunk(self, size: int) -> None:
        """The reservation grows before a chunk that could take the upload past it, in a thread: the
        budget's lock (held by other reservations meanwhile) and its fsyncs would stall every
        request on the event loop. Taken ahead by GROW_STEP, so one chunk in 128 at most waits."""
        needed = min(self.result.size + size, self.max_bytes)
        if self.budget is not None and needed > self.reserved:
            self.reserved = await asyncio.to_thread(
                self.budget.reserve, self.dest.parent, needed, "the upload so far", GROW_STEP
            )

    def on_part_end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._text is not None:
            self.result.fields[self._text_name] = _text_field(self._text_name, bytes(self._text))
            self._text = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _text_field(name: str, data: bytes) -> str:
    """A text field's value, refused unless UTF-8: decoded with errors replaced, a Latin-1
    ``.../r\xe9sultats`` webhook became ``.../r\ufffdsultats``, accepted (202) and called back at a
    path the client never sent. The JSON body, which must be UTF-8, cannot carry such bytes."""
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BadRequest(f"Form field '{name}' is not UTF-8 text: send the URL in UTF-8.") from None


async def receive_zip(
    request: Request,
    dest: Path,
    max_bytes: int,
    budget: DiskBudget | None = None,
    reserved: int = 0,
) -> ReceivedUpload:
    """Write the ``file`` part to ``dest``, growing the job folder's reservation in ``budget`` past
    ``reserved`` bytes as it comes; raises MissingFile, BadRequest, PayloadTooLarge, the budget's
    refusals or UploadDiskFull (and leaves no partial file behind)."""
    writer = _ZipPartWriter(dest, max_bytes, budget, reserved)
    partial = dest.with_name(dest.name + ".part")
    try:
        try:
            await feed_multipart(request, writer)
        finally:
            writer.close()  # a full disk may first show here, when the last buffered bytes are flushed
    except OSError as exc:
        partial.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise UploadDiskFull() from exc
        raise
    finally:
        if not writer.ended or not writer.has_file:
            partial.unlink(missing_ok=True)
    if not writer.has_file:
        raise MissingFile("No zip uploaded: send it as multipart field 'file'.")
    try:
        await asyncio.to_thread(_keep, partial, dest)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        dest.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise UploadDiskFull() from exc
        raise
    return writer.result


def _keep(partial: Path, dest: Path) -> None:
    """The upload durable before the job is accepted: its bytes, its name, and the job folder's name
    (created for it) in jobs/. A 202 for a zip still only in the page cache let a power cut lose an
    accepted job's images. In a thread: a 100 MB fsync would stall every request on the event loop."""
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, dest)
    fsync_dir(dest.parent)
    fsync_dir(dest.parent.parent)
