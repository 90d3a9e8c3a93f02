"""Operations: Prometheus metrics and the upload web page."""

from __future__ import annotations

import os
from os import PathLike
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from capsight.api.headers import PAGE_CSP
from capsight.api.metrics import CONTENT_TYPE
from capsight.api.runtime import get_runtime
from capsight.errors import NotFound

router = APIRouter(tags=["operations"])

STATIC_DIR = Path(__file__).resolve().parents[2] / "web" / "static"
# The page and its script and stylesheet change together on an upgrade. Without a Cache-Control of
# their own, a browser may reuse each for a while on its own guess (a tenth of the time since the
# file was last modified: days, for an install a month old), and so run a new page with an old
# script or the reverse. "no-cache" makes it ask every time; unchanged files answer 304 by ETag.
FILE_CACHING = "no-cache"


class RevalidatedStaticFiles(StaticFiles):
    """``/static``: the page's assets, revalidated on every use (see :data:`FILE_CACHING`)."""

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.setdefault("Cache-Control", FILE_CACHING)  # on a 304 too
        if str(full_path).endswith(".html"):
            # The page is also /static/index.html: without its own policy it got only the one for
            # HTML the app does not control (frame-ancestors), so injected script would run there.
            response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        return response


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format.",
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(request: Request) -> Response:
    return Response(get_runtime(request).metrics.render(), media_type=CONTENT_TYPE)


_PAGE_FILES = RevalidatedStaticFiles(directory=STATIC_DIR, check_dir=False)


@router.get("/", include_in_schema=False)  # HEAD too, like every GET route: see api/head.py
async def index(request: Request) -> Response:
    """The page, through the same file server as its assets: a browser revalidating it with its
    ETag gets 304 (a plain file answer sent the whole page every time)."""
    if not (STATIC_DIR / "index.html").is_file():
        raise NotFound("The web page is not installed.")
    response = await _PAGE_FILES.get_response("index.html", request.scope)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response
