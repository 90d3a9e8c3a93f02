"""uvicorn's HTTP/1.1 protocols with a deadline and a size cap (capsight.api.head_limit) for each
request's head (request line and headers).

Why: uvicorn times a connection out only while it idles between requests (``timeout_keep_alive``,
and that timer stops at the first byte received); a connection that sends nothing after connecting,
or a request head one byte at a time, stayed open for ever. Measured on ``capsight serve``: a
connection that sent nothing and one that sent half a head were both still open after 20 s, and
3,000 such connections were all held, each a file descriptor, with no limit: clients that vanish
mid-request (a phone leaving coverage, a NAT dropping its mapping) leak them until the process runs
out, and a server exposed without a proxy in front can be starved on purpose (slowloris). nginx
closes such connections after ``client_header_timeout`` (60 s); this does after
CAPSIGHT_REQUEST_HEAD_TIMEOUT_SECONDS (default REQUEST_HEAD_TIMEOUT_S), counted from the connection
or, on a kept-alive connection, from the first byte of the next request.

An idle kept-alive connection is uvicorn's to close, after ``timeout_keep_alive``
(CAPSIGHT_KEEP_ALIVE_SECONDS): counted from the end of the previous response, the head deadline
closed it first whenever the keep-alive was set longer (behind a load balancer that reuses idle
connections for 60 s, a 502 for the request it sent on one closed that moment).
"""

from __future__ import annotations

import asyncio
import functools
import socket
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from capsight.api.head_limit import HeadSizeLimit, max_request_head_bytes
from capsight.api.middleware import SERVER_STATUS_KEY
from capsight.settings import Settings

# The setting's default: generous for any real client (a head is a few KB) yet bounded; idle
# keep-alive connections close after CAPSIGHT_KEEP_ALIVE_SECONDS (uvicorn's 5 s by default).
REQUEST_HEAD_TIMEOUT_S: float = Settings.model_fields["request_head_timeout_seconds"].default

# How long a stopping server (SIGTERM, or an old worker replaced on SIGHUP) still waits for a request on
# a connection it had accepted but read nothing from yet; well inside uvicorn's timeout_graceful_shutdown.
DRAIN_GRACE_S = 1.0


@functools.cache
def request_head_timeout_s() -> float:
    """CAPSIGHT_REQUEST_HEAD_TIMEOUT_SECONDS of this process, read once, at its first connection.

    From the environment, as the app of each ``--workers N`` process reads its settings: uvicorn
    names this protocol to those processes as a class to import, so no value travels with it, and
    ``capsight serve`` has checked the same environment (one line and exit 2) before any starts."""
    return Settings().request_head_timeout_seconds


# How soon a connection whose request bytes wait unread at the end of DRAIN_GRACE_S is looked at again.
_UNREAD_RECHECK_S = 0.05


def _unread_bytes(transport: asyncio.BaseTransport) -> bool:
    """Whether the kernel holds bytes for this connection that the server has not read yet."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        # A duplicate of the descriptor: uvloop's transport hands out a stand-in without recv().
        with socket.fromfd(sock.fileno(), sock.family, sock.type) as peek:
            return bool(peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:  # closed or reset meanwhile: nothing to read
        return False


class _HeadDeadline:
    """Mixed into a uvicorn protocol: closes the connection when no request head has completed
    within request_head_timeout_s() of the connection opening or of the first byte received after
    the previous response (until then, the connection idles under uvicorn's keep-alive timeout)."""

    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _head_timer: asyncio.TimerHandle | None = None
    _draining = False  # a refused request's body was still coming at the last deadline
    _stopping = False  # the server is shutting down: answer what comes within DRAIN_GRACE_S, then close

    def _arm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(request_head_timeout_s(), self._head_deadline_passed)

    def _response_done(self) -> None:
        """An answer has been sent: the connection idles under uvicorn's keep-alive timeout, and the
        deadline for the next head starts with its first byte (``data_received``). Answered early
        while its body still comes (a 413 from Content-Length), the deadline watches that body."""
        self._draining = False
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_complete and self.cycle.more_body:
            self._arm_head_deadline()
        else:
            self._disarm_head_deadline()

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if self.cycle is not None and self.cycle.response_complete and self.cycle.more_body:
            # Answered early (a 413 from Content-Length) while its body still comes: uvicorn reads
            # and drops the rest as before, so that a client reading its answer only once it has
            # sent everything (Python's requests) gets it.
            self._draining = True
            self._arm_head_deadline()
            return
        if self._draining:  # the dropped body has ended since: a whole deadline for the next head
            self._draining = False
            self._arm_head_deadline()
            return
        waiting_for_head = self.cycle is None or self.cycle.response_complete
        if waiting_for_head and not self.transport.is_closing():
            self.transport.close()

    def _disarm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _waiting_for_head(self) -> bool:
        return self.cycle is None or bool(self.cycle.response_complete)

    def _close_after_this_request(self) -> None:
        """While stopping, a request that came in is answered with ``Connection: close``."""
        if self._stopping and self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False

    def _drain_grace_over(self) -> None:
        if not self._waiting_for_head() or self.transport.is_closing():
            return
        if _unread_bytes(self.transport):
            # Arrived in time, but the loop ran this timer before reading them (timers go first after
            # a stall): closed now, Linux would reset the connection and the request be lost.
            self.loop.call_later(_UNREAD_RECHECK_S, self._drain_grace_over)
            return
        self.transport.close()

    # Cooperative overrides: the mixin comes first in each protocol's bases, so ``super()`` is uvicorn's.
    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        self._close_after_this_request()
        if self._head_timer is None and self._waiting_for_head() and not self.transport.is_closing():
            self._arm_head_deadline()  # the first bytes of a head that has not completed yet

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._close_after_this_request()  # h11 starts a pipelined request here
        self._response_done()

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown, except that a connection waiting for a request is closed only
        if none has come within DRAIN_GRACE_S.

        Why: uvicorn closed such a connection at once. One the server had accepted a moment before it
        was told to stop (an old worker replaced on SIGHUP, or SIGTERM) had its request on the way, or
        already in the kernel's buffer unread: the request was lost, the client got an empty answer
        or a reset (Linux resets a connection closed with unread data). Measured over 8 SIGHUPs of
        ``serve --workers 2``: 42 requests lost of clients that send 20-90 ms after connecting, 4 of
        clients that send at once (httpx: 1 ReadError, 3 RemoteProtocolError); none now. The
        listening socket is closed first as before: no new connection is taken by this process,
        and with --workers N the other workers take them from the shared socket. At the end of the
        grace a request already in the kernel's buffer (the loop stalled, on a loaded machine) is
        still read and answered rather than reset.
        """
        self._stopping = True
        if self._waiting_for_head() and not self.transport.is_closing():
            self.loop.call_later(DRAIN_GRACE_S, self._drain_grace_over)
        else:
            super().shutdown()  # type: ignore[misc]

    def send_400_response(self, msg: str) -> None:
        """uvicorn's plain-text ``400 Invalid HTTP request received.``, then it closes the connection.

        A request whose head was read (a damaged chunk size in its body) is already with the app,
        which sees only the connection end: it was counted as 499, a client that hung up. The app
        is told the status the client got; a request whose answer has started keeps its own."""
        if self.cycle is not None and not self.cycle.response_started:
            self.cycle.scope[SERVER_STATUS_KEY] = 400
        super().send_400_response(msg)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)  # type: ignore[misc]


class H11HeadDeadlineProtocol(HeadSizeLimit, _HeadDeadline, H11Protocol):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # h11 refuses a head past its own limit (16 KiB) with a plain-text 400: above the cap, the
        # cap is the limit, and its 431 the answer. (It also bounds a chunk-size line, and still does.)
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=max_request_head_bytes() + 1)

    def _in_head(self) -> bool:
        return self.conn.their_state is h11.IDLE


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is in uvicorn[standard]
    HTTP_PROTOCOL = f"{__name__}:H11HeadDeadlineProtocol"
else:

    class HttpToolsHeadDeadlineProtocol(HeadSizeLimit, _HeadDeadline, HttpToolsProtocol):  # type: ignore[misc]
        # httptools reads a head until on_headers_complete, then a body until on_message_complete.
        _head_open = True

        def _in_head(self) -> bool:
            return self._head_open

        def on_headers_complete(self) -> None:
            self._head_open = False
            self._head_bytes = 0
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._head_open = True

    HTTP_PROTOCOL = f"{__name__}:HttpToolsHeadDeadlineProtocol"
"""What ``capsight serve`` gives uvicorn as ``http``: httptools when installed, as uvicorn's "auto"."""
