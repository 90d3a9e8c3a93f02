"""Liveness and readiness probes.

Live: the process answers HTTP. Ready: the model is loaded and warmed up, so a request sent now is
served at full speed. Kubernetes restarts on the first and routes traffic on the second.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from capsight.api.routes.common import CLASSIFY_ERRORS
from capsight.api.runtime import get_runtime
from capsight.api.schemas import LiveResponse, ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/health/live", summary="Liveness probe", response_model=LiveResponse)
async def live() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/health/ready",
    summary="Readiness probe",
    response_model=ReadyResponse,
    responses={503: CLASSIFY_ERRORS[503]},
)
async def ready(request: Request) -> JSONResponse:
    meta = get_runtime(request).metadata  # ModelNotReady -> 503 with Retry-After
    return JSONResponse({"status": "ready", "model": meta.name, "version": meta.version})
