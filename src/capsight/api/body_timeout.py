"""Answers ``408`` to a client that sends its request body too slowly.

uvicorn has no body timeout of its own: a client that declares a 16 MB upload and then sends a byte a
minute holds a connection, a coroutine and whatever part of the body it sent, for ever. Behind nginx
``client_body_timeout`` would catch it; ``capsight serve`` on a laptop or a bare pod has nothing in
front. Two limits, both off when 0:

- **idle**: the longest pause between two body chunks (nginx's ``client_body_timeout`` semantics), so a
  stalled upload is dropped quickly;
- **total**: the whole body must arrive within this, so a client that drips one byte just inside the
  idle limit still cannot hold the connection for longer than a slow phone needs for the largest
  allowed upload. Job uploads (zips up to 512 MB) have only the idle limit: no fixed time suits
  both a 600 KB photo and half a gigabyte.

Only body reads are timed: once the last chunk has arrived, ``receive()`` waits for the disconnect
(Starlette's listeners rely on that) and is passed through untouched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capsight.api.logtext import loggable
from capsight.api.middleware import add_response_header, call_with_guarded_body
from capsight.errors import RequestTimeout

logger = logging.getLogger(__name__)


class _BodyTimedOut(RequestTimeout):
    """Raised inside the app's body read; a subclass so this middleware knows it raised it."""


class BodyTimeoutMiddleware:
    """Times each body read of an HTTP request against the idle limit and ``total_for(path)``
    (seconds, 0 = off)."""

    def __init__(self, app: ASGIApp, idle_seconds: float, total_for: Callable[[str], float]) -> None:
        self.app = app
        self.idle_seconds = idle_seconds
        self.total_for = total_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        total_seconds = self.total_for(scope["path"]) if scope["type"] == "http" else 0.0
        if scope["type"] != "http" or (self.idle_seconds <= 0 and total_seconds <= 0):
            await self.app(scope, receive, send)
            return
        body_done = False
        deadline: float | None = None  # the total clock starts at the first body read

        async def timed_receive() -> Message:
            nonlocal body_done, deadline
            if body_done:
                return await receive()
            now = time.monotonic()
            if deadline is None and total_seconds > 0:
                deadline = now + total_seconds
            wait = self._wait_for(now, deadline)
            # Which limit this wait ends at is known now. Asking the clock after the timeout is not
            # enough: uvloop rounds timers to whole milliseconds and may fire a hair before the
            # deadline, and the answer then blamed a 30 s stall on a body that was merely too slow.
            overdue = deadline is not None and (self.idle_seconds <= 0 or deadline - now <= self.idle_seconds)
            try:
                message = await asyncio.wait_for(receive(), timeout=wait)
            except TimeoutError:
                raise self._timed_out(scope, total_seconds if overdue else None) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        await call_with_guarded_body(self.app, scope, receive, send, timed_receive, _BodyTimedOut)

    def _wait_for(self, now: float, deadline: float | None) -> float | None:
        waits = [self.idle_seconds] if self.idle_seconds > 0 else []
        if deadline is not None:
            waits.append(max(0.0, deadline - now))
        return min(waits) if waits else None

    def _timed_out(self, scope: Scope, total_seconds: float | None) -> _BodyTimedOut:
        """``total_seconds`` when the whole-body deadline passed, None when the body stalled."""
        # The rest of the body is still on its way: the connection cannot carry another request.
        add_response_header(scope, "connection", "close")
        if total_seconds is not None:
            message = f"The request body did not arrive within {total_seconds:g} s."
        else:
            message = f"The request body stalled: nothing arrived for {self.idle_seconds:g} s."
        logger.info("%s %s: %s", scope.get("method", ""), loggable(scope.get("path", "")), message)
        return _BodyTimedOut(message)
