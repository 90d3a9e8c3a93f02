"""The header half of python-multipart's push-parser callbacks, shared by every streaming upload.

Image uploads keep the wanted parts in memory (``api/uploads.py``); job zips go straight to disk
(``jobs/upload.py``). Both need the same per-part header bookkeeping, the same cap on the number of
parts and the same callback table, so that lives here once. Subclasses implement
``on_headers_finished``, ``on_part_data`` and ``on_part_end``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import (
    DEFAULT_MAX_HEADER_COUNT,
    DEFAULT_MAX_HEADER_SIZE,
    MAX_BOUNDARY_LENGTH,
    MultipartParser,
    parse_options_header,
)
from starlette.requests import Request

from capsight.api.logtext import loggable
from capsight.errors import BadRequest

_AS_THEY_ARE = frozenset({"7bit", "8bit", "binary"})  # transfer encodings that leave the bytes alone
_CALLBACKS = (
    "on_part_begin",
    "on_part_data",
    "on_part_end",
    "on_header_field",
    "on_header_value",
    "on_header_end",
    "on_headers_finished",
    "on_end",
)


class PartCallbacks:
    """Collects each part's headers; counts parts so a flood of tiny fields is refused early."""

    def __init__(self, max_parts: int) -> None:
        self.max_parts = max_parts
        self.parts = 0
        self.ended = False
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> dict[str, Callable[..., Any]]:
        """The table ``MultipartParser`` wants, bound to this object."""
        return {name: getattr(self, name) for name in _CALLBACKS}

    def reset_part(self) -> None:
        """Forget whatever the previous part left behind (hook for subclasses)."""

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.max_parts:
            raise BadRequest(f"Too many parts in the multipart body (limit {self.max_parts}).")
        self._headers = {}
        self.reset_part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        raise NotImplementedError

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        raise NotImplementedError

    def on_part_end(self) -> None:
        raise NotImplementedError

    def on_end(self) -> None:
        self.ended = True

    async def before_chunk(self, size: int) -> None:
        """Awaited before each chunk of ``size`` bytes is parsed: room for work that must not run in
        the synchronous callbacks, on the event loop (a job upload's disk reservation)."""

    def disposition(self) -> tuple[str, str | None]:
        """The current part's form field name and file name (None when it has none)."""
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = params.get(b"filename")
        return name, raw_filename.decode("utf-8", "replace") if raw_filename is not None else None

    def header(self, name: bytes) -> bytes | None:
        return self._headers.get(name)

    def refuse_transfer_encoding(self, name: str) -> None:
        """Raise BadRequest when the current part (field ``name``, one the route reads) declares a
        Content-Transfer-Encoding that changes its bytes. Form data carries them as they are (RFC
        7578 section 4.7), and they are read so: a base64 PNG was answered "not a supported image",
        which sent the client checking a photo that was fine."""
        raw = self.header(b"content-transfer-encoding")
        if raw is None:
            return
        encoding = raw.decode("latin-1").strip()
        if encoding.lower() in _AS_THEY_ARE:
            return
        raise BadRequest(
            f"Part '{loggable(name, 100)}' is sent with Content-Transfer-Encoding "
            f"'{loggable(encoding, 100)}': send its bytes as they are (multipart/form-data takes no "
            "transfer encoding)."
        )


# python-multipart's own limits on a part's headers, which it refuses with an exception whose message
# says only "Maximum header ... exceeded": said here with the number, since the body is otherwise well
# formed and a bare "Malformed multipart body." sent the client looking for a framing error.
_HEADER_LIMITS = {
    "Maximum header size exceeded": (
        f"Malformed multipart body: a part's header line is longer than {DEFAULT_MAX_HEADER_SIZE} bytes."
    ),
    "Maximum header count exceeded": (
        f"Malformed multipart body: a part has more than {DEFAULT_MAX_HEADER_COUNT} header lines."
    ),
}

# A header name with a character no name holds (CR: a line with no colon, as when the blank line
# before the data is left out or the boundary line is written twice, the second read as a header).
_NOT_A_HEADER = "Found invalid character "

# The first delimiter ("--boundary") not followed by CR: almost always a body written with LF line
# ends (by hand, printf, a file saved on Unix), which python-multipart refuses there.
_FIRST_LINE_NOT_CRLF = "Did not find CR at end of boundary"


def _malformed(exc: Exception) -> str:
    """The 400's message for python-multipart's refusal ``exc``: what is wrong where it can be said."""
    text = str(exc)
    if text in _HEADER_LIMITS:
        return _HEADER_LIMITS[text]
    if text.startswith(_NOT_A_HEADER):
        return (
            "Malformed multipart body: a part's header line is not 'Name: value' "
            "(a space or control character in its name, a missing blank line before the data, "
            "or a boundary line written twice)."
        )
    if text.startswith(_FIRST_LINE_NOT_CRLF):
        return (
            "Malformed multipart body: its first boundary line does not end in CR LF "
            "(multipart lines end in CR LF, not LF alone)."
        )
    return "Malformed multipart body."


MAX_PREAMBLE = 64 * 1024  # real preambles are a line ("This is a multi-part message in MIME format.")


class _Preamble:
    """Drops the text before the first delimiter, which python-multipart refuses as malformed.

    RFC 2046 section 5.1.1 allows a preamble (mail-style MIME writers add one), and the first
    delimiter is ``--boundary`` at the body's start or after a CRLF. Only a delimiter's length is held
    back while looking; a body with no delimiter in its first ``MAX_PREAMBLE`` bytes is refused as
    before. The epilogue after the close delimiter python-multipart ignores itself."""

    def __init__(self, boundary: bytes) -> None:
        self.delimiter = b"\r\n--" + boundary
        self.pending = b"\r\n"  # so that a delimiter at the very start is found like any other
        self.skipped = 0
        self.found = False

    def feed(self, chunk: bytes) -> bytes:
        """What of ``chunk`` the parser gets: nothing before the delimiter, everything after it."""
        if self.found:
            return chunk
        self.pending += chunk
        at = self.pending.find(self.delimiter)
        keep = len(self.delimiter) - 1
        if self.skipped + (at if at >= 0 else len(self.pending) - keep) > MAX_PREAMBLE + 2:
            raise BadRequest(
                f"Malformed multipart body: no boundary in its first {MAX_PREAMBLE // 1024} KiB."
            )
        if at >= 0:
            self.found = True
            return self.pending[at + 2 :]  # from "--boundary"
        self.skipped += max(0, len(self.pending) - keep)
        self.pending = self.pending[-keep:]
        return b""


async def feed_multipart(request: Request, parts: PartCallbacks) -> None:
    """Push the request body through python-multipart into ``parts``.

    Raises BadRequest for a missing boundary, a malformed body, or one that ends before its closing
    boundary (a truncated upload must never look complete).
    """
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("Malformed multipart body: the Content-Type has no boundary.")
    if len(boundary) > MAX_BOUNDARY_LENGTH:
        raise BadRequest(
            f"Malformed multipart body: the Content-Type's boundary is {len(boundary)} characters long; "
            f"at most {MAX_BOUNDARY_LENGTH} are read (RFC 2046 allows 70)."
        )
    preamble = _Preamble(boundary)
    try:
        parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
        async for chunk in request.stream():
            data = preamble.feed(chunk) if chunk else b""
            if data:
                await parts.before_chunk(len(data))
                parser.write(data)
        parser.finalize()
    except (FormParserError, ValueError) as exc:
        raise BadRequest(_malformed(exc)) from exc
    if not parts.ended:
        raise BadRequest("Malformed multipart body: it ends before the closing boundary.")
