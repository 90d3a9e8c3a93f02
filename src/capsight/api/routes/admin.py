"""Admin reads: the request log (``GET /v1/requests``) and the stored images (``GET /v1/images/{sha256}``).

Both need the ``admin`` scope when auth is on. The database and the image store are synchronous
libraries, so every read runs on a worker thread: a slow query never stalls classification, which
shares the event loop.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from capsight.api.query_checks import strict_query
from capsight.api.routes.common import RATE_LIMITED, UNAUTHORIZED, error_doc, scope_forbidden
from capsight.api.runtime import get_runtime
from capsight.api.schemas import RequestLogPage
from capsight.api.security import AdminAccess
from capsight.errors import BadRequest, NotFound
from capsight.imaging.decode import detect_format
from capsight.store.blobs import is_sha256

if TYPE_CHECKING:  # keeps SQLAlchemy off the app's import path
    from capsight.store.requestlog import RequestLog

router = APIRouter(prefix="/v1", tags=["admin"])

MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "HEIF": "image/heif",  # iPhone photos (HEIC); without it they downloaded instead of showing
    "AVIF": "image/avif",
}
MAX_PAGE = 1000

ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: UNAUTHORIZED,
    403: scope_forbidden("The credentials lack the 'admin' scope."),
    429: RATE_LIMITED,
    503: error_doc("The database or image store is unreachable, or the server is still starting."),
}


def _request_log(request: Request) -> RequestLog:
    log = get_runtime(request).services.request_log
    if log is None:
        raise NotFound("The request log is not available on this server.")
    return log


# A time whose UTC offset follows it after a space: the '+' of "10:00:00+01:00", which a URL's query
# reads as a space. Nothing else puts a space there (one between date and time is before "HH:MM").
_SPACED_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?( )\d{2}(?::?\d{2})?$")


def _plus_read_as_space(request: Request) -> None:
    """Why: ``?since=2026-11-29T10:00:00+01:00`` typed as is was 422 "unexpected extra characters at
    the end of the input", a well-formed time refused with no clue why. A dependency, so that it
    answers before FastAPI's own check of the value."""
    for name in ("since", "until"):
        value = request.query_params.get(name)
        found = _SPACED_OFFSET.search(value) if value is not None else None
        if value is not None and found is not None:
            fixed = f"{value[: found.start(1)]}%2B{value[found.end(1) :]}"
            message = (
                f"{value!r} has a space where its UTC offset's '+' was (a '+' in a URL's query reads as "
                f"a space): send {fixed}, or the time in UTC with Z."
            )
            raise RequestValidationError([{"type": "value_error", "loc": ("query", name), "msg": message}])


def _utc(value: datetime | None) -> datetime | None:
    """Times without a zone are taken as UTC, the zone the log is written in."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:59-12:00 is past the last datetime once in UTC
        raise BadRequest(f"Time {value.isoformat()} is out of range once converted to UTC.") from exc


@router.get(
    "/requests",
    summary="List logged classifications (admin)",
    response_model=RequestLogPage,
    responses=ADMIN_ERRORS
    | {
        400: error_doc(
            "Invalid cursor, min_confidence > max_confidence, until not after since, an unknown query "
            "parameter, one given more than once, or label, client_id or model_version given empty."
        ),
        404: error_doc("This server has no request log (an app built without one)."),
    },
    # A typo (?lable=opened) answered every row, unfiltered, as if it were the filtered answer.
    dependencies=[Depends(strict_query("label", "client_id", "model_version")), Depends(_plus_read_as_space)],
)
async def list_requests(
    request: Request,
    principal: AdminAccess,
    since: Annotated[
        datetime | None, Query(description="Only rows at or after this time (ISO 8601).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Only rows before this time (ISO 8601).")] = None,
    label: Annotated[str | None, Query(description="Only this predicted label.")] = None,
    min_confidence: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    max_confidence: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    client_id: Annotated[str | None, Query(description="Only this client (key id or ip:<address>).")] = None,
    model_version: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page.")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> JSONResponse:
    """Newest first. Each classified image is one row, so a batch request shows one row per image
    (same ``request_id``, distinct ``item_index``). Pages are stable while new requests arrive."""
    log = _request_log(request)
    page = await asyncio.to_thread(
        log.list_requests,
        since=_utc(since),
        until=_utc(until),
        label=label,
        min_conf=min_confidence,
        max_conf=max_confidence,
        client_id=client_id,
        model_version=model_version,
        limit=limit,
        cursor=cursor,
    )
    return JSONResponse({"items": [item.to_dict() for item in page.items], "next_cursor": page.next_cursor})


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The image bytes as they were uploaded.",
        "content": {media: _BINARY for media in (*MEDIA_TYPES.values(), "application/octet-stream")},
    },
    400: error_doc("Not a sha256 hex digest."),
    404: error_doc("No stored image with this hash, or this server has no request log."),
}


@router.get(
    "/images/{sha256}",
    summary="Download a stored image (admin)",
    response_class=Response,
    responses=_IMAGE_RESPONSES | ADMIN_ERRORS,
)
async def get_image(sha256: str, request: Request, principal: AdminAccess) -> Response:
    """The bytes of a logged image, by the ``image_sha256`` of its request-log row."""
    digest = sha256.lower()
    if not is_sha256(digest):
        raise BadRequest("Malformed image hash: expected a sha256 hex digest (64 characters 0-9, a-f).")
    data = await asyncio.to_thread(_request_log(request).get_image, digest)
    if data is None:
        raise NotFound(f"No stored image with sha256 {digest}.")
    media_type = MEDIA_TYPES.get(detect_format(data) or "", "application/octet-stream")
    headers = {
        # Content-addressed: the bytes behind a hash never change.
        "Cache-Control": "private, max-age=31536000, immutable",
        "ETag": f'"{digest}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(data, media_type=media_type, headers=headers)
