"""Liveness and readiness probes.

Live: the process answers HTTP. Ready: the model is loaded and warmed up, so a request sent now is
served at full speed. Kubernetes restarts on the first and routes traffic on the second.

Readiness also says how the request log is doing (its database and image store), but never fails
on it: classifying needs neither, records wait in the spool meanwhile, and a bucket or database
that every replica shares going down would otherwise take every replica out of the load balancer
at once. Nor does start-up wait for them or refuse to start: an outage at start is as likely to be
a backend restarting as a mistake, and it heals by itself; the log line and this say which.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from capsight.api.routes.common import CLASSIFY_ERRORS
from capsight.api.runtime import ServingRuntime, get_runtime
from capsight.api.schemas import LiveResponse, ReadyResponse
from capsight.api.security import holds_scope

router = APIRouter(tags=["health"])

CAUSE_HIDDEN = "The request log's database or image store is unavailable; the server log has the cause."


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
    runtime = get_runtime(request)
    meta = runtime.metadata  # ModelNotReady -> 503 with Retry-After
    body: dict[str, Any] = {"status": "ready", "model": meta.name, "version": meta.version}
    log = await _request_log(request, runtime)
    if log is not None:
        body["request_log"] = log
    return JSONResponse(body)


async def _request_log(request: Request, runtime: ServingRuntime) -> dict[str, Any] | None:
    """The recorder's state; None without one (no request log, or a hand-built recorder without
    stats). The cause names hosts, buckets and server paths: with auth on, admins only read it."""
    stats_of = getattr(runtime.services.recorder, "stats", None)
    if stats_of is None:
        return None
    stats = stats_of()
    error = stats.error
    if error is not None and runtime.settings.auth_enabled and not await holds_scope(request, "admin"):
        error = CAUSE_HIDDEN
    status = "ok" if not stats.degraded else "degraded" if stats.error is not None else "starting"
    return {"status": status, "error": error, "spooled": stats.spooled}
