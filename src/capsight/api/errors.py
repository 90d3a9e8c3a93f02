"""The one place where failures become HTTP responses: ``{"error": message}`` with the right status.

Library code raises :mod:`capsight.errors` exceptions that carry their own status, so this module
never grows a per-route table. FastAPI's validation errors, Starlette's HTTP errors (404 route,
405 method) and unexpected exceptions are shaped the same way, so every client (the legacy Flask
callers included) parses one error format.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from capsight.api.allow import allow_header, allowed_methods
from capsight.api.logtext import loggable
from capsight.errors import (
    CapsightError,
    ClientClosedRequest,
    InsufficientScope,
    MethodNotAllowed,
    MissingCredentials,
    ModelNotReady,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedEncoding,
)

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = "Internal error."

#: The challenge every 401 carries: RFC 9110 (15.5.2) requires one, and clients pick the scheme to
#: retry with from it. Bearer, the scheme of both API keys and JWTs (X-API-Key is our own header).
AUTH_CHALLENGE = 'Bearer realm="capsight"'

#: What RFC 6750 (3) allows inside error_description and scope: printable ASCII but '"' and '\'.
_UNSAFE_IN_PARAM = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
_SAFE_FOR = {'"': "'", "\\": "/"}
MAX_ERROR_DESCRIPTION = 300


def _param_value(text: str) -> str:
    """``text`` made fit for a quoted auth-param: the refusal repeats the caller's text (a token's
    ``alg``), and a quote in it would end the value early, CR LF split the header, a non-Latin-1
    letter fail the answer; the grammar allows no escapes, so those are replaced."""
    text = _UNSAFE_IN_PARAM.sub(lambda found: _SAFE_FOR.get(found.group(), "?"), text)
    return text if len(text) <= MAX_ERROR_DESCRIPTION else text[: MAX_ERROR_DESCRIPTION - 3] + "..."


def auth_challenge(exc: Unauthorized | InsufficientScope) -> str:
    """The challenge of a 401 or of a 403 for a scope, with the RFC 6750 (3.1) error: none when no
    credential was sent, ``invalid_token`` when one was refused (OAuth clients and API gateways
    refresh the token on it; they re-sent the refused one on a plain challenge), and
    ``insufficient_scope`` with the scope wanted."""
    if isinstance(exc, MissingCredentials):
        return AUTH_CHALLENGE
    description = _param_value(exc.message)
    if isinstance(exc, InsufficientScope):
        scope = _param_value(exc.scope)
        return (
            f'{AUTH_CHALLENGE}, error="insufficient_scope", error_description="{description}", '
            f'scope="{scope}"'
        )
    return f'{AUTH_CHALLENGE}, error="invalid_token", error_description="{description}"'


def error_response(status_code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code, headers=headers)


def retry_after_header(seconds: float) -> str:
    """Retry-After takes whole seconds; never advertise 0 (clients would retry in a hot loop)."""
    return str(max(1, math.ceil(seconds)))


def capsight_error_response(exc: CapsightError) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited | ServiceUnavailable):
        headers["Retry-After"] = retry_after_header(exc.retry_after)
    if isinstance(exc, Unauthorized | InsufficientScope):
        headers["WWW-Authenticate"] = auth_challenge(exc)
    if isinstance(exc, UnsupportedEncoding):
        headers["Accept-Encoding"] = exc.accepted  # RFC 9110 (12.5.3): the codings it does take
    if isinstance(exc, MethodNotAllowed):
        headers["Allow"] = allow_header(exc.allowed)
    return error_response(exc.status_code, exc.message, headers)


def internal_error_response(exc: BaseException) -> JSONResponse:
    """A 500 for a bug: the details go to the log, never to the client."""
    logger.error("unhandled error", exc_info=(type(exc), exc, exc.__traceback__))
    return error_response(500, INTERNAL_ERROR_MESSAGE)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts) if parts else "Invalid request."


async def _capsight_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CapsightError)
    if isinstance(exc, ModelNotReady) and exc.admin_message is not None:
        # Imported here: the security module's imports lead back to this one.
        from capsight.api.security import holds_scope

        if await holds_scope(request, "admin"):
            exc = ModelNotReady(exc.admin_message, retry_after=exc.retry_after)
    if isinstance(exc, ClientClosedRequest):
        # Not a fault of ours, and nobody reads the answer: one INFO line, as for a client that hung
        # up during its upload (middleware.py), which the README promises for both.
        path = loggable(request.url.path)
        logger.info("client closed the connection before its answer was ready (%s)", path)
    elif exc.status_code >= 500 and not isinstance(exc, ServiceUnavailable):
        logger.warning("%s on %s: %s", type(exc).__name__, loggable(request.url.path), exc.message)
    return capsight_error_response(exc)


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, CapsightError):
        # FastAPI answers any failure while it reads a body it parses (the JSON of /v1/feedback) with
        # 400 "There was an error parsing the body"; a body guard's own error says what happened
        # (408 stalled, 413 over the limit, 503 over the memory budget).
        return capsight_error_response(exc.__cause__)
    headers: dict[str, Any] = dict(getattr(exc, "headers", None) or {})
    detail = str(exc.detail)
    if exc.status_code == 405:  # the router's: it names only the first matching route's methods
        allow = allowed_methods(request.app.routes, request.scope)
        if allow is not None:
            headers["Allow"] = allow
            detail = f"{detail}: {loggable(request.scope['path'])} answers {allow}."
    return error_response(exc.status_code, detail, headers or None)


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, _validation_message(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Unknown exceptions are answered by the request-context middleware (see ``middleware.py``),
    which sits outside these handlers so even a 500 carries its X-Request-ID."""
    app.add_exception_handler(CapsightError, _capsight_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    _document_validation_errors(app)


_ERROR_SCHEMA_REF = "#/components/schemas/ErrorResponse"
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


_BODYLESS_413 = "A request body over CAPSIGHT_MAX_UPLOAD_BYTES was sent; this operation reads none."
_HOST_403 = (
    "with auth off, the request named a dotted Host other than *.localhost, the machine's own name or "
    'one in CAPSIGHT_ALLOWED_HOSTS (DNS-rebinding protection; ["*"] turns it off).'
)
_CROSS_SITE_403 = (
    "with auth off, a browser sent it from a page of another site (Sec-Fetch-Site: cross-site or "
    "same-site) whose Origin is not in CAPSIGHT_CORS_ORIGINS (cross-site write protection)."
)
_WRITES = frozenset({"post", "put", "patch", "delete"})  # what CrossSiteWriteMiddleware refuses
_NEVER_INVALID = (str, str | None)  # what any path segment or query value already is


def _can_fail_validation(route: APIRoute) -> bool:
    """Whether FastAPI can refuse a request to ``route`` with 422: a body it parses, or a parameter
    that a value can fail (a number, a bound, a required query). A path segment or an optional
    query taken as a plain string cannot: the routes that read their bodies themselves (uploads,
    V2 inference) answer those with 400."""
    if route.body_field is not None:
        return True
    for field in get_flat_params(route.dependant):
        info = field.field_info
        if info.annotation not in _NEVER_INVALID or info.metadata:
            return True
        if info.is_required() and not isinstance(info, params.Path):
            return True
    return False


def _document_forbidden(responses: dict[str, Any], error_body: dict[str, Any], cause: str) -> None:
    """Add ``cause`` to the operation's 403: an operation that already documents one (a scope, the
    host check) keeps those causes and gains this one."""
    described = responses.get("403", {}).get("description", "")
    if cause not in described:
        described = f"{described.rstrip()} Or, {cause}" if described else cause[0].upper() + cause[1:]
        responses.setdefault("403", {"content": error_body})["description"] = described
    responses["403"].setdefault("content", error_body)


def _document_validation_errors(app: FastAPI) -> None:
    """Make /openapi.json describe the 422 answers as :func:`_validation_handler` sends them, and
    only where one can be sent; and the 413 of a body over the limit and the 403s of the host check
    on every operation and of a cross-site write on every POST and DELETE.

    FastAPI documents a 422 with its own ``{"detail": [...]}`` body (HTTPValidationError) on every
    route with a parameter, whatever the app's handler answers, so a client generated from the
    document parsed a body it never gets; and it does so on routes whose only parameters are path
    segments (``/v1/models/{name}``, ``/v2/models/{name}/infer``, ``/v1/jobs/{job_id}``), which no
    request can make invalid, so clients wrote handling for an answer that never comes. A route
    that raises 422 itself says so in its ``responses``. The document is built once (FastAPI
    caches it); every route documents its errors with ErrorResponse, so that schema is always in it.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        paths = schema.get("paths", {})
        for context in iter_route_contexts(app.routes):  # an included router's routes with its prefix
            route = context.original_route
            if not isinstance(route, APIRoute) or 422 in route.responses or _can_fail_validation(route):
                continue
            operations = paths.get(context.path_format or route.path_format, {})
            for method in route.methods or ():
                operations.get(method.lower(), {}).get("responses", {}).pop("422", None)
        error_body = {"application/json": {"schema": {"$ref": _ERROR_SCHEMA_REF}}}
        for operations in paths.values():
            for operation in operations.values():
                answer = operation.get("responses", {}).get("422") if isinstance(operation, dict) else None
                if answer is not None:
                    answer["content"] = error_body
        # A body over the limit is refused before any route runs (BodySizeLimitMiddleware), from
        # Content-Length, whether the route reads one or not: GET and DELETE included. So is, with
        # auth off, a foreign Host (RebindingGuardMiddleware): a 403 on every operation.
        for operations in paths.values():
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation.setdefault("responses", {}).setdefault(
                        "413", {"description": _BODYLESS_413, "content": error_body}
                    )
                    _document_forbidden(operation["responses"], error_body, _HOST_403)
        # With auth off, a browser's write sent from another site's page is refused before any route
        # (CrossSiteWriteMiddleware): the 403 a web front end on another origin meets first.
        for operations in paths.values():
            for method, operation in operations.items():
                if method in _WRITES and isinstance(operation, dict):
                    _document_forbidden(operation.setdefault("responses", {}), error_body, _CROSS_SITE_403)
        components = schema.get("components", {}).get("schemas", {})
        for name in _FASTAPI_VALIDATION_SCHEMAS:
            components.pop(name, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
