"""What the server serves: model name, version, labels, input size and the metrics in model.json."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from capsight.api.routes.common import CLASSIFY_ERRORS, error_doc
from capsight.api.runtime import get_runtime
from capsight.api.schemas import ModelInfo, ModelList, render_model
from capsight.errors import NotFound

router = APIRouter(tags=["models"])


@router.get("/v1/models", summary="List served models", response_model=ModelList)
async def list_models(request: Request) -> JSONResponse:
    runtime = get_runtime(request)
    settings = runtime.settings
    limits = {
        "max_upload_bytes": settings.max_upload_bytes,
        "max_pixels": settings.max_pixels,
        "max_batch_images": settings.max_batch_images,
    }
    return JSONResponse({"models": [render_model(runtime.metadata, runtime.ready)], "limits": limits})


@router.get(
    "/v1/models/{name}",
    summary="Describe one model",
    response_model=ModelInfo,
    responses={404: error_doc("Unknown model."), 503: CLASSIFY_ERRORS[503]},
)
async def get_model(name: str, request: Request) -> JSONResponse:
    runtime = get_runtime(request)
    meta = runtime.metadata
    if name != meta.name:
        raise NotFound(f"Unknown model '{name}'; this server serves '{meta.name}'.")
    return JSONResponse(render_model(meta, runtime.ready))
