"""Two pure ASGI middlewares: the request context (id, extra headers, metrics, last-resort 500) and
the upload size limit.

Pure ASGI rather than ``BaseHTTPMiddleware`` because they sit on every request: no extra task, no
body buffering, and the size limit can answer 413 before a single body byte is read.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.routing import Route, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capsight.api.errors import capsight_error_response, internal_error_response
from capsight.api.logtext import loggable
from capsight.api.metrics import Metrics
from capsight.api.request_ids import new_request_id
from capsight.api.sizes import human_bytes
from capsight.errors import CapsightError, PayloadTooLarge

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_KEY = "capsight.request_id"
LOG_ID_KEY = "capsight.log_id"
EXTRA_HEADERS_KEY = "capsight.response_headers"
BODYLESS_METHODS = frozenset({"GET", "HEAD", "DELETE"})  # no route of this app reads their body
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that hung up before the answer
# The status the HTTP server itself answered a request with, after the app had started on it (set by
# capsight.api.protocols: uvicorn's plain-text 400 for a body it cannot parse, a damaged chunk size).
SERVER_STATUS_KEY = "capsight.server_status"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/=+\-]{1,128}")  # fullmatch: "$" allows a final "\n"


def request_id_of(scope: Scope) -> str:
    return str(scope.get(REQUEST_ID_KEY) or "")


def log_id_of(scope: Scope) -> str:
    """The request log's key for this request: the server's id even when the client sent its own."""
    return str(scope.get(LOG_ID_KEY) or scope.get(REQUEST_ID_KEY) or "")


def add_response_header(scope: Scope, name: str, value: str) -> None:
    """Queue a header for this request's response, whichever handler (or error) ends up sending it."""
    headers = scope.get(EXTRA_HEADERS_KEY)
    if headers is not None:
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))


def request_header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case) in the request, or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _endpoint_label(scope: Scope, status: int) -> str:
    """The route template ("/v2/models/{name}/infer"), never the raw path: bounded label cardinality."""
    path = route_template(scope.get("route"))
    if path:
        return path
    if status == 404:  # routed and matched nothing: no template to find (and no work for scanners)
        return "unmatched"
    return _template_for(scope) or "unmatched"


def route_template(route: Any) -> str | None:
    """The template a route answers, as the API documents it: ``/v2/models/{name}``, also for a route
    declared ``{name:path}`` (a model name may hold "/"), so labels and logs keep one spelling."""
    if isinstance(route, Route):
        return route.path_format
    path = getattr(route, "path", None)
    return str(path) if path else None


def _template_for(scope: Scope) -> str | None:
    """The API route template that ``scope``'s path asks for, for a request answered before routing.

    A 413 refused from its Content-Length or a 503 over the body budget never reaches the router,
    so no route is in its scope; without this it was counted as "unmatched", with the 404s, and a
    dashboard of /v1/classify errors never saw it. The templates are the app's documented paths
    (public API on every FastAPI version, cached by FastAPI); a template whose methods include the
    request's wins, as the router would pick it. Files and unknown paths stay None.
    """
    openapi = getattr(scope.get("app"), "openapi", None)
    if openapi is None:
        return None
    path, method = scope["path"], scope["method"].lower()
    other_method: str | None = None
    for template, operations in openapi().get("paths", {}).items():
        if _compiled_template(template).match(path):
            if method in operations:
                return str(template)
            other_method = other_method or str(template)
    return other_method


@functools.lru_cache(maxsize=512)
def _compiled_template(template: str) -> re.Pattern[str]:
    # {name} is a model name in every API path, declared {name:model_name} (routes/common.py) as it
    # may hold "/"; the documented template drops that, and compiled as one segment it left a
    # refused request on "team/pets"'s /v2 paths counted as "unmatched".
    return compile_path(template.replace("{name}", "{name:model_name}"))[0]


class RequestContextMiddleware:
    """Outermost layer: gives each request an id, adds queued headers, records metrics, and turns an
    unexpected exception into ``500 {"error": "Internal error."}`` that still carries the id."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = request_header(scope, REQUEST_ID_HEADER.encode())
        request_id = incoming.decode("latin-1") if incoming else ""
        own_id = new_request_id()  # carries its time: see request_ids
        if not _VALID_REQUEST_ID.fullmatch(request_id):
            request_id = own_id
        scope[REQUEST_ID_KEY] = request_id  # echoed in X-Request-ID and in response bodies
        scope[LOG_ID_KEY] = own_id
        extra: list[tuple[bytes, bytes]] = [(REQUEST_ID_HEADER.encode(), request_id.encode("latin-1"))]
        scope[EXTRA_HEADERS_KEY] = extra
        state: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_context(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        except ClientDisconnect:
            server_status = scope.get(SERVER_STATUS_KEY)
            if server_status is not None:
                # The HTTP server answered it (400 Invalid HTTP request received.) and closed the
                # connection, which is all the app saw: counted as the answer the client got, not
                # as a client that hung up.
                state["status"] = server_status
                logger.info(
                    "the HTTP server refused the request's body as malformed (%s)", loggable(scope["path"])
                )
            else:
                # The client hung up before its body arrived: nobody is left to answer, and it is not a
                # server fault, so it is counted as nginx's 499 "client closed request", not as a 500.
                state["status"] = CLIENT_CLOSED_REQUEST
                logger.info(
                    "client closed the connection before its request was read (%s)", loggable(scope["path"])
                )
        except Exception as exc:
            if state["started"]:
                raise  # too late for a clean answer: let the server drop the connection
            await internal_error_response(exc)(scope, receive, send_with_context)
        finally:
            if self.metrics is not None:
                self.metrics.observe_request(
                    _endpoint_label(scope, state["status"]),
                    scope["method"],
                    state["status"],
                    time.perf_counter() - started,
                )


class _BodyTooLarge(PayloadTooLarge):
    pass


async def call_with_guarded_body(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    guarded_receive: Receive,
    guard_error: type[CapsightError],
) -> None:
    """Run ``app`` reading its body through ``guarded_receive``, which raises ``guard_error``.

    Inside a route the app's error handler answers that error; a body read outside a route has no
    handler, so it is answered here, unless the response has already started (then the server
    drops the connection).
    """
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, guarded_receive, tracking_send)
    except guard_error as exc:
        if started:
            raise
        await capsight_error_response(exc)(scope, receive, send)


class BodySizeLimitMiddleware:
    """Rejects bodies over the limit: at once from Content-Length, else while counting the stream.

    ``limit_for(path)`` lets multi-image endpoints allow more than single-image ones. The body is
    never buffered here; an over-limit chunked upload is cut off as soon as it crosses the line.
    ``framing_for(path)`` more bytes are let through where a limit counts image bytes: a file of
    exactly the limit arrives inside multipart boundaries and part headers (the upload parser holds
    each image to the limit itself). The message still names the limit the client was told; a
    route that reads no body (``takes_body(path)`` false) is not said to have got a file, and one
    whose limit is on several images together (``too_large_message(path, limit)``, else None) says so.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit_for: Callable[[str], int],
        framing_for: Callable[[str], int] = lambda path: 0,
        takes_body: Callable[[str], bool] = lambda path: True,
        bodyless_limit: int | None = None,
        too_large_message: Callable[[str, int], str | None] = lambda path, limit: None,
        on_declared_too_large: Callable[[str, str], None] = lambda method, path: None,
    ) -> None:
        self.app = app
        self.on_declared_too_large = on_declared_too_large
        self.too_large_message = too_large_message
        self.limit_for = limit_for
        self.framing_for = framing_for
        self.takes_body = takes_body
        # GET, HEAD and DELETE read no body on any path: GET /v1/jobs shares its path with the zip
        # upload, and was held to that upload's limit, its 413 speaking of a file.
        self.bodyless_limit = bodyless_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bodyless = scope["method"] in BODYLESS_METHODS
        advertised = self.limit_for(scope["path"])
        if bodyless and self.bodyless_limit is not None:
            advertised = min(advertised, self.bodyless_limit)
        if self.takes_body(scope["path"]) and not bodyless:
            message = (
                self.too_large_message(scope["path"], advertised)
                or f"File too large: the upload limit is {human_bytes(advertised)}."
            )
        else:  # the limit still holds (nothing unbounded is taken in), but no file was expected
            message = (
                f"Request body too large: {scope['method']} {scope['path']} takes no request body"
                f" (over {human_bytes(advertised)} was sent)."
            )
        limit = advertised + (0 if bodyless else self.framing_for(scope["path"]))
        declared = request_header(scope, b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server rejects malformed framing itself
            if too_big:
                self.on_declared_too_large(scope["method"], scope["path"])
                await capsight_error_response(PayloadTooLarge(message))(scope, receive, send)
                return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(message)
            return msg

        await call_with_guarded_body(self.app, scope, receive, send, counting_receive, _BodyTooLarge)
