"""Caps the request bodies held in memory at once, across all requests of this process.

Why: images are read into memory (one buffer per upload, see ``uploads.py``), and the per-request
limits (16 MB an image, 64 MB a batch) bound one request, not many. 32 clients sending 11 MB photos
at the same moment took the server from 170 MB to 890 MB of RSS; with a 512 MiB container limit
that is an OOM kill, and every request in flight is lost with it. So each request with a body
reserves its size (``Content-Length``, or chunk by chunk when the body is chunked) from one budget
before its bytes are read, and gives it back when its answer has been sent.

A request that does not fit waits (its body is not read meanwhile: the socket's flow control holds
the client back) for up to ``wait_seconds``, and is then answered ``503`` with ``Retry-After``,
like a full model queue. A body larger than the whole budget waits until it is alone. Job uploads
(zips, streamed to disk) are exempt. Everyday traffic never waits: 128 MiB holds 200 phone photos.

A handler that turns the body into more memory than it read (a gzip'd V2 body inflates up to a
thousand times its size) reserves the difference through :func:`reserve_more`, held until the same
point: counting only the bytes on the wire let a few KB of gzip each claim 64 MB unseen.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capsight.api.logtext import loggable
from capsight.api.metrics import Metrics
from capsight.api.middleware import add_response_header, call_with_guarded_body
from capsight.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})

#: Scope key of the request's :class:`Reservation` (absent when the request is not budgeted).
RESERVATION_KEY = "capsight.body_reservation"


class ByteBudget:
    """An asyncio byte semaphore served in arrival order (a big upload is not starved by small ones)."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be > 0")
        self.capacity = capacity
        self.used = 0
        self._waiters: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self, amount: int, timeout: float) -> bool:
        """Reserve ``amount`` bytes (at most the capacity); False if they were not free in time."""
        if amount > self.capacity:
            raise ValueError(f"{amount} bytes exceed the whole budget of {self.capacity}")
        if not self._waiters and self.used + amount <= self.capacity:
            self.used += amount
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (amount, future)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
            return True
        except TimeoutError:
            if future.done():  # granted in the same instant the wait ran out: keep it
                return True
            self._waiters.remove(entry)
            self._grant()  # those behind it may fit now
            return False
        except asyncio.CancelledError:
            if future.done():
                self.release(amount)
            else:
                self._waiters.remove(entry)
                self._grant()
            raise

    def release(self, amount: int) -> None:
        self.used -= amount
        self._grant()

    def _grant(self) -> None:
        while self._waiters:
            amount, future = self._waiters[0]
            if self.used + amount > self.capacity:
                return
            self._waiters.popleft()
            self.used += amount
            future.set_result(None)


class _BudgetExhausted(ServiceUnavailable):
    """Raised inside the app's body read; a subclass so this middleware knows it raised it."""


class Reservation:
    """What one request holds of the budget; the middleware gives it all back when the answer is sent."""

    def __init__(self, budget: ByteBudget, wait_seconds: float, busy: Callable[[], _BudgetExhausted]) -> None:
        self.budget = budget
        self.wait_seconds = wait_seconds
        self._busy = busy
        self.held = 0

    async def grow(self, amount: int) -> None:
        """Hold ``amount`` more bytes (never past the whole budget); ``503`` if no room came in time."""
        amount = min(amount, self.budget.capacity - self.held)
        if amount <= 0:
            return
        if not await self.budget.acquire(amount, self.wait_seconds):
            raise self._busy()
        self.held += amount

    def release_all(self) -> None:
        if self.held:
            held, self.held = self.held, 0
            self.budget.release(held)


async def reserve_more(scope: Scope, amount: int) -> None:
    """Count ``amount`` more bytes of this request against the budget until its answer is sent
    (a no-op without a budget); raises ``503`` (ServiceUnavailable) when no room came in time."""
    reservation = scope.get(RESERVATION_KEY)
    if isinstance(reservation, Reservation):
        await reservation.grow(amount)


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return max(0, int(value))
            except ValueError:
                return None
    return None


class BodyBudgetMiddleware:
    """Holds each request's body size in ``budget`` from before its first byte is read until its
    answer is sent; ``exempt(scope)`` names requests whose bodies never sit in memory."""

    RETRY_AFTER_SECONDS = 2

    def __init__(
        self,
        app: ASGIApp,
        capacity: int,
        wait_seconds: float,
        exempt: Callable[[Scope], bool],
        metrics: Metrics | None = None,
    ) -> None:
        self.app = app
        self.budget = budget = ByteBudget(capacity) if capacity > 0 else None
        self.wait_seconds = wait_seconds
        self.exempt = exempt
        if metrics is not None and budget is not None:
            metrics.track(metrics.inflight_body_bytes, lambda: budget.used)
            metrics.track(metrics.body_budget_waiting, lambda: budget.waiting)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        budget = self.budget
        if budget is None or scope["type"] != "http" or scope["method"] in _BODYLESS or self.exempt(scope):
            await self.app(scope, receive, send)
            return
        reservation = Reservation(budget, self.wait_seconds, lambda: self._busy(scope))
        scope[RESERVATION_KEY] = reservation
        declared = _declared_length(scope)
        reserved_declared = False
        try:

            async def reserving_receive() -> Message:
                # Reserved when the route first reads the body, never before: routes read it once
                # the caller is admitted, so a caller without a key (401), over its rate (429) or
                # sent to an unknown path never waits in line for room, nor makes those behind it
                # wait. A declared body reserves its whole size before its first byte is read (the
                # size limit, checked before this, keeps it within the budget; the cap only matters
                # to an app built with a budget below its own limits); a chunked body has no size up
                # front, so each chunk is reserved before it is handed on. A body that cannot get
                # room in time ends in 503.
                nonlocal reserved_declared
                if declared is not None:
                    if not reserved_declared:
                        reserved_declared = True
                        await reservation.grow(declared)
                    return await receive()
                message = await receive()
                if message["type"] == "http.request":
                    await reservation.grow(len(message.get("body", b"")))
                return message

            await call_with_guarded_body(self.app, scope, receive, send, reserving_receive, _BudgetExhausted)
        finally:
            reservation.release_all()

    def _busy(self, scope: Scope) -> _BudgetExhausted:
        # The body was not (all) read: the connection cannot carry another request.
        add_response_header(scope, "connection", "close")
        message = "Server busy: too many uploads in progress. Retry shortly."
        logger.warning(
            "%s %s: %s (budget %d bytes in use)",
            scope.get("method", ""),
            loggable(scope.get("path", "")),
            message,
            self.budget.used if self.budget else 0,
        )
        return _BudgetExhausted(message, retry_after=self.RETRY_AFTER_SECONDS)
