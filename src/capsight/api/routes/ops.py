"""Operations: Prometheus metrics and the upload web page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from capsight.api.headers import PAGE_CSP
from capsight.api.metrics import CONTENT_TYPE
from capsight.api.runtime import get_runtime
from capsight.errors import NotFound

router = APIRouter(tags=["operations"])

STATIC_DIR = Path(__file__).resolve().parents[2] / "web" / "static"


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(get_runtime(request).metrics.render(), media_type=CONTENT_TYPE)


# HEAD too: uptime checkers and link checkers probe the page with it (it answered 405).
@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def index() -> FileResponse:
    page = STATIC_DIR / "index.html"
    if not page.is_file():
        raise NotFound("The web page is not installed.")
    return FileResponse(page, media_type="text/html", headers={"Content-Security-Policy": PAGE_CSP})
