"""What the server serves: model name, version, labels, input size and the metrics in model.json."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from capsight.api.routes.common import CLASSIFY_ERRORS, RATE_LIMITED, UNAUTHORIZED, error_doc, scope_forbidden
from capsight.api.runtime import get_runtime
from capsight.api.schemas import ModelInfo, ModelList, ModelReloaded, render_model
from capsight.api.security import AdminAccess
from capsight.errors import MethodNotAllowed, NotFound

router = APIRouter(tags=["models"])
RELOAD = "reload"


@router.get(
    "/v1/models",
    summary="List served models",
    response_model=ModelList,
    responses={503: error_doc("The model is not loaded yet.")},
)
async def list_models(request: Request) -> JSONResponse:
    runtime = get_runtime(request)
    settings = runtime.settings
    limits = {
        "max_upload_bytes": settings.max_upload_bytes,
        "max_pixels": settings.max_pixels,
        "max_batch_images": settings.max_batch_images,
        # As the size middleware holds a batch's body (api/app.py): never below one image's limit.
        "max_batch_upload_bytes": max(settings.max_batch_upload_bytes, settings.max_upload_bytes),
    }
    return JSONResponse({"models": [render_model(runtime.metadata, runtime.ready)], "limits": limits})


@router.get(
    "/v1/models/{name:model_name}",  # a model.json from elsewhere may name it "org/model"
    summary="Describe one model",
    response_model=ModelInfo,
    responses={404: error_doc("Unknown model."), 503: CLASSIFY_ERRORS[503]},
)
async def get_model(name: str, request: Request) -> JSONResponse:
    runtime = get_runtime(request)
    meta = runtime.metadata
    if name == RELOAD and name != meta.name:  # the reload action, which the template also matches
        raise MethodNotAllowed(f"Method Not Allowed: /v1/models/{RELOAD} answers POST.", ("POST",))
    if name != meta.name:
        raise NotFound(f"Unknown model '{name}'; this server serves '{meta.name}'.")
    return JSONResponse(render_model(meta, runtime.ready))


@router.post(
    f"/v1/models/{RELOAD}",
    summary="Load the model folder again and serve it (admin)",
    response_model=ModelReloaded,
    responses={
        401: UNAUTHORIZED,
        403: scope_forbidden("The credentials lack the 'admin' scope."),
        409: error_doc("The folder's model failed to load; the previous model keeps serving."),
        413: error_doc("A body over CAPSIGHT_MAX_UPLOAD_BYTES was sent; this route reads none."),
        429: RATE_LIMITED,
        503: error_doc("The first load of the model has not finished yet, or the server is stopping."),
    },
)
async def reload_model(request: Request, principal: AdminAccess) -> JSONResponse:
    """After ``capsight promote`` replaced the model folder: load it, warm it up, then switch new
    requests to it (those in flight finish on the previous one). Only this server process reloads;
    with ``--workers N`` send SIGHUP to the main process instead, which restarts the workers."""
    previous, now = await get_runtime(request).reload()
    before = None if previous is None else {"name": previous.name, "version": previous.version}
    return JSONResponse(
        {
            "previous": before,
            "model": {"name": now.name, "version": now.version},
            # A retrained model or a corrected model.json can keep its version string: compare what
            # answers (the fingerprint of weights, labels and preprocessing), not only the names.
            "changed": previous is None
            or (previous.name, previous.version, previous.fingerprint)
            != (now.name, now.version, now.fingerprint),
        }
    )
