"""A cap on the bytes of each request head (request line and headers) for uvicorn's HTTP/1.1 protocols.

Why: httptools, the parser ``capsight serve`` runs, keeps a head in memory however long it grows:
one request with a single 50 MB header line was answered 200, and eight of them at once took the
server from ~150 MB to over 400 MB (the README's target is 300 MB): a client could exhaust the
server's memory with headers alone, before capsight saw a request. nginx refuses a head past
``large_client_header_buffers`` (4 x 8 KiB), uvicorn's h11 parser past 16 KiB.

How: while a head is being read, the parser is handed at most what is left of the cap; a head that
reaches it without ending is answered 431 with capsight's JSON error (written here: no app has seen
the request) and ``Connection: close``. The connection then stops being read into memory: what the
client still sends is dropped for up to REFUSED_LINGER_S so that it reads the answer rather than a
reset (Linux resets a connection closed with unread data, and the client may lose the answer),
then it is closed. Bodies are never counted: bytes are counted only between the end of one request
(or the connection's start) and the end of the next head. A pipelined head that starts in the same
read as the end of the request before it is counted from the next read: it may pass the cap by that
read (at most 256 KiB), still bounded.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from typing import Any

from capsight.settings import Settings

logger = logging.getLogger(__name__)

# The setting's default: 64 KiB. A real head is well under 8 KiB (browsers cap a cookie at 4 KiB; a
# JWT bearer token is 1-2 KiB), so this passes every client nginx's 32 KiB would, with room for large
# SSO cookies, yet eight hundred oversized heads at once hold ~50 MB, not gigabytes.
MAX_REQUEST_HEAD_BYTES: int = Settings.model_fields["max_request_head_bytes"].default

# How long a refused connection's further bytes are read and dropped before it is closed.
REFUSED_LINGER_S = 2.0


@functools.cache
def max_request_head_bytes() -> int:
    """CAPSIGHT_MAX_REQUEST_HEAD_BYTES of this process, read once, as request_head_timeout_s() is:
    each ``--workers N`` process reads it from the environment ``capsight serve`` has checked."""
    return Settings().max_request_head_bytes


def head_too_large_message(cap: int) -> str:
    return (
        f"Request head too large: the request line and headers may total at most {cap} bytes "
        "(CAPSIGHT_MAX_REQUEST_HEAD_BYTES on the server); send fewer or shorter headers "
        "(large cookies or tokens) or ask for the limit to be raised."
    )


class HeadSizeLimit:
    """Mixed into a uvicorn protocol (before the protocol class, after nothing that reads bytes):
    counts each head's bytes and refuses one past max_request_head_bytes() with a 431."""

    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    server_state: Any
    _head_bytes = 0  # bytes of the head being read, handed to the parser so far
    _head_refused = False  # answered 431: what still comes is dropped

    def _in_head(self) -> bool:
        """Whether the parser is reading a head (or waits for the first byte of one)."""
        raise NotImplementedError

    def data_received(self, data: bytes) -> None:
        if self._head_refused:
            return  # dropped, never buffered
        cap = max_request_head_bytes()
        while data:
            if self._in_head():
                room = cap - self._head_bytes
                if room <= 0:
                    self._refuse_head(cap)
                    return
                piece, data = data[:room], data[room:]
                self._head_bytes += len(piece)
            else:
                piece, data = data, b""  # a body (and whatever follows it in this read)
            super().data_received(piece)  # type: ignore[misc]
            if not self._in_head():
                self._head_bytes = 0
            if self.transport.is_closing():
                return

    def _refuse_head(self, cap: int) -> None:
        self._head_refused = True
        logger.info("Refused a request head over %d bytes (431)", cap)
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head behind a request still being answered: an answer now would cut into
            # that one's; the connection closes after it instead.
            self.cycle.keep_alive = False
            return
        body = json.dumps({"error": head_too_large_message(cap)}).encode()
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client reads the answer, then the end
        self.loop.call_later(REFUSED_LINGER_S, self.transport.close)

    def eof_received(self) -> bool | None:
        if self._head_refused:
            return None  # the client is done too: the transport closes itself
        return super().eof_received()  # type: ignore[misc]
