"""Reads uploaded images straight from the request stream.

Why not FastAPI's ``UploadFile``: it spools every part into a temporary file (to disk past 1 MB)
and its form parser turns our own size errors into a generic 400. Parsing the multipart stream
here with python-multipart's push parser keeps each image in one in-memory buffer, enforces the
per-file limit and the image count while the bytes arrive, and ignores parts we do not want
without storing them.

A raw body (``Content-Type: image/*`` or ``application/octet-stream``) is accepted as one image
too, for ``curl --data-binary``; so is a raw body under another or no Content-Type whose bytes are
an image (curl's default label is application/x-www-form-urlencoded).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from capsight.api.logtext import loggable
from capsight.api.multipart import PartCallbacks, feed_multipart
from capsight.api.sizes import human_bytes
from capsight.errors import CapsightError, MissingFile, PayloadTooLarge, TooManyImages, UnsupportedEncoding
from capsight.imaging.decode import detect_format

SINGLE_FIELDS = frozenset({"file", "image"})
BATCH_FIELDS = frozenset({"files", "files[]", "file", "image"})
MAX_PARTS = 1000  # parts of any kind; a flood of tiny fields is not an upload
# A batch is sent as repeated 'files': the single-image advice ('file') sent batch clients astray.
BATCH_MISSING = (
    "No file uploaded: send the images as multipart field 'files', repeated ('file' or 'image' also work)."
)


@dataclass(frozen=True)
class Upload:
    field: str
    filename: str | None
    content_type: str | None
    data: bytes
    error: CapsightError | None = None  # refused while it arrived (a batch item over the size limit)


class _PartCollector(PartCallbacks):
    """Callbacks for python-multipart; keeps the data of wanted parts only."""

    def __init__(
        self,
        fields: Collection[str],
        max_files: int,
        max_file_bytes: int,
        batch: bool,
    ) -> None:
        super().__init__(MAX_PARTS)
        self.fields = fields
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.batch = batch
        self._too_large = False
        self._extra = False  # a batch part past max_files that may yet be an input left empty
        self.uploads: list[Upload] = []
        # The wanted part's data as views into the received chunks, joined once at the end: one
        # copy of the image instead of a growing bytearray's re-copies plus a final bytes() copy.
        self._chunks: list[memoryview] | None = None
        self._size = 0
        self._meta: tuple[str, str | None, str | None] | None = None

    def reset_part(self) -> None:
        self._chunks = None
        self._meta = None
        self._too_large = False
        self._extra = False

    def on_headers_finished(self) -> None:
        name, filename = self.disposition()
        if name not in self.fields:
            return
        if len(self.uploads) >= self.max_files:
            if not self.batch:
                return  # a single-image endpoint uses the first one and ignores the rest
            if filename != "":
                raise TooManyImages(self._too_many_message())
            self._extra = True  # refused in on_part_data if it has bytes (see _is_unselected)
            return
        self.refuse_transfer_encoding(name)  # only for a part that is read
        content_type = self.header(b"content-type")
        self._meta = (name, filename, content_type.decode("latin-1") if content_type else None)
        self._chunks = []
        self._size = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._extra and end > start:
            raise TooManyImages(self._too_many_message())
        if self._chunks is None:
            return
        self._size += end - start
        if self._size > self.max_file_bytes:
            if not self.batch:
                raise PayloadTooLarge(self._too_large_message())
            # In a batch the image gets its own 413 and its neighbours are still classified: drop
            # what arrived of it and skip the rest (the whole body is capped by the size middleware).
            self._too_large = True
            self._chunks = []
            return
        # A view, not a copy, of an immutable chunk; anything mutable is copied (it may be reused).
        view = memoryview(data)[start:end]
        self._chunks.append(view if isinstance(data, bytes) else memoryview(bytes(view)))

    def on_part_end(self) -> None:
        if self._chunks is not None and self._meta is not None:
            name, filename, content_type = self._meta
            if _is_unselected(filename, self._size):
                pass  # no file: the next part of a wanted field may still carry one
            elif self._too_large:
                error = PayloadTooLarge(self._too_large_message())
                self.uploads.append(Upload(name, filename, content_type, b"", error))
            else:
                self.uploads.append(Upload(name, filename, content_type, b"".join(self._chunks)))
        self.reset_part()

    def _too_large_message(self) -> str:
        return f"File too large: the limit is {human_bytes(self.max_file_bytes)} per image."

    def _too_many_message(self) -> str:
        return f"Too many images: at most {self.max_files} per request."


def _is_unselected(filename: str | None, size: int) -> bool:
    """A file input left empty: browsers still send it, as a part with an empty file name and no
    bytes (HTML's form-data set construction). It is no file, not an empty one: it must neither
    become a batch item nor hide a file chosen in the next input. A named empty file (``curl -F
    file=@empty.jpg``) is still a file, answered with its own 400."""
    return filename == "" and size == 0


def refuse_encoded_body(request: Request) -> None:
    """Raise UnsupportedEncoding (415) for a body sent with a Content-Encoding: routes that read
    bodies as sent (uploads, feedback) never inflate one (only /v2 infer does).

    Read as it came, a compressed form or image was answered 400 "Malformed multipart body" or
    "not a supported image", and compressed feedback 422 "Invalid JSON", which sent the client
    looking at its image or JSON instead of its compression.
    """
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedEncoding(
            f"Content-Encoding '{loggable(encoding)}' is not supported here: send the body uncompressed."
        )


async def read_uploads(
    request: Request,
    *,
    fields: Collection[str] = SINGLE_FIELDS,
    max_files: int = 1,
    max_file_bytes: int,
    batch: bool = False,
) -> list[Upload]:
    """The image parts of the request, in order. Raises MissingFile when there are none, and
    UnsupportedEncoding (415) for a compressed body: uploads are read as sent, never inflated.

    ``batch``: an image over ``max_files`` is refused (a single-image endpoint uses the first and
    ignores the rest), and a part over ``max_file_bytes`` becomes an Upload carrying its own 413
    instead of failing the whole request: a batch answers for each image.
    """
    refuse_encoded_body(request)
    content_type = request.headers.get("content-type", "")
    ctype, _ = parse_options_header(content_type)
    if ctype == b"multipart/form-data":
        collector = _PartCollector(fields, max_files, max_file_bytes, batch)
        await feed_multipart(request, collector)
        uploads = collector.uploads
    elif ctype.startswith(b"image/") or ctype == b"application/octet-stream":
        uploads = [Upload("body", None, ctype.decode("latin-1"), await _read_raw(request, max_file_bytes))]
    else:
        # ``curl --data-binary @photo.jpg`` labels the body application/x-www-form-urlencoded, and
        # some clients send no Content-Type: an image is known by its bytes, as everywhere else.
        body = await _read_raw(request, max_file_bytes)
        if detect_format(body) is None:
            raise MissingFile(_missing_file_message(content_type, batch, empty=not body))
        uploads = [Upload("body", None, None, body)]
    if not uploads:
        raise MissingFile(BATCH_MISSING if batch else None)
    return uploads


def _missing_file_message(content_type: str, batch: bool, *, empty: bool) -> str:
    """What to send instead, naming what was sent (a JSON or form body is the usual mistake).

    A raw image is read under any Content-Type but multipart/form-data (read_uploads); the hint
    said "with Content-Type image/*", which sent clients changing a label that was never the
    problem: what this request lacks is image bytes, so that is what it names."""
    sent = f"Content-Type '{loggable(content_type)}'" if content_type else "no Content-Type"
    body = "an empty body" if empty else "a body that is not an image"
    advice, raw = (
        (BATCH_MISSING, "one image as the raw body")
        if batch
        else (MissingFile.default_message, "as the raw body")
    )
    return (
        f"{advice[:-1]}, or {raw}, under any Content-Type but multipart/form-data"
        f" (this request has {sent} and {body})."
    )


async def _read_raw(request: Request, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"File too large: the limit is {human_bytes(max_bytes)} per image.")
        chunks.append(chunk)
    return b"".join(chunks)
