"""The Open Inference Protocol (KServe V2) REST paths, so standard clients and gateways can call us.

Images travel as a BYTES input tensor (base64 strings in JSON, one element per image); the answer
is an FP32 ``probabilities`` tensor of shape [n, C] and a BYTES ``label`` tensor of shape [n]. The class
order of the C columns is in the ``probabilities`` tensor's ``parameters.labels_json``: the labels as
one JSON array in a string, since the protocol allows only strings, numbers and booleans as parameter
values (a list broke clients that validate the answer) and a label may hold a comma (ImageNet's
"tabby, tabby cat"), so a comma-joined string would not split back into the labels.

V2 has no per-element errors, so one bad image fails the request with ``{"error": "..."}``, as the
protocol specifies.

Inputs may also come as binary tensor data, gzip or deflate compressed: decoding the body is in
:mod:`capsight.api.routes.v2_decode`, the protocol's names and bodies in
:mod:`capsight.api.routes.v2_schemas`. Outputs always come back as JSON, even when ``binary_data``
is asked for: tritonclient and kserve's client read an output as JSON whenever it has no
``binary_data_size``, and JSON keeps the answer readable by every other caller.

The classification extension is supported too, since tritonclient asks for it with
``InferRequestedOutput("probabilities", class_count=k)`` and then parses strings: that output comes
back as BYTES ``"<probability>:<index>:<label>"`` of shape [n, k], best first.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from capsight import __version__
from capsight.api.logtext import loggable
from capsight.api.routes.common import CLASSIFY_ERRORS, error_doc, request_context
from capsight.api.routes.v2_decode import INPUT, _decode_images, _inflate, _parse_request
from capsight.api.routes.v2_outputs import classification, requested_outputs
from capsight.api.routes.v2_schemas import (
    EXTENSIONS,
    HEADER_LENGTH,
    LABEL,
    LABELS_JSON,
    PROBABILITIES,
    InferenceRequest,
    InferenceResponse,
    ModelMetadataV2,
    ModelReady,
    ServerLive,
    ServerMetadata,
    ServerReady,
    inline_refs,
)
from capsight.api.runtime import ServingRuntime, get_runtime
from capsight.api.security import ClassifyAccess
from capsight.errors import BadRequest, CapsightError, MethodNotAllowed, NotFound, PayloadTooLarge
from capsight.inference.metadata import ModelMetadata

router = APIRouter(prefix="/v2", tags=["open inference protocol (v2)"])


def _model(runtime: ServingRuntime, name: str, version: str | None = None) -> ModelMetadata:
    meta = runtime.metadata  # 503 until loaded
    if name != meta.name:
        raise NotFound(f"Unknown model '{name}'.")
    if version is not None and version != meta.version:
        raise NotFound(f"Model '{name}' has no version '{version}' (serving '{meta.version}').")
    return meta


_READY, _INFER, _VERSIONS = "ready", "infer", "versions"  # path segments after the model name


def _address(runtime: ServingRuntime, path: str, name: str) -> tuple[ModelMetadata, str]:
    """The model and the action (``""`` metadata, ``"ready"``, ``"infer"``) that ``path``, what follows
    ``/v2/models/``, asks for; ``name`` is the model name the route read from it.

    The routes take ``{name:model_name}`` since a model.json from elsewhere may name the model "org/model"
    (a Hugging Face id): each segment a route parses could then belong to the name, so ``path`` is
    read against the served name first. A model named "x/ready" is still the model at
    ``/v2/models/x/ready``, not the readiness of a model "x".
    """
    meta = runtime.metadata  # 503 until loaded
    rest = path.removeprefix(meta.name)
    if rest != path and (rest == "" or rest.startswith("/")):
        parts = rest.split("/")[1:]
        action = parts.pop() if parts and parts[-1] in (_READY, _INFER) else ""
        if not parts:
            return meta, action
        if len(parts) == 2 and parts[0] == _VERSIONS:
            return _model(runtime, meta.name, parts[1]), action
    raise NotFound(f"Unknown model '{name}'.")


@router.get("", summary="Server metadata", response_model=ServerMetadata)
async def server_metadata() -> JSONResponse:
    return JSONResponse({"name": "capsight", "version": __version__, "extensions": EXTENSIONS})


@router.get("/health/live", summary="Server liveness", response_model=ServerLive)
async def server_live() -> JSONResponse:
    return JSONResponse({"live": True})


@router.get(
    "/health/ready",
    summary="Server readiness",
    response_model=ServerReady,
    responses={503: CLASSIFY_ERRORS[503]},
)
async def server_ready(request: Request) -> JSONResponse:
    get_runtime(request).service()  # raises ModelNotReady (503) until ready
    return JSONResponse({"ready": True})


def _metadata_body(meta: ModelMetadata) -> dict[str, Any]:
    return {
        "name": meta.name,
        "versions": [meta.version],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": INPUT, "datatype": "BYTES", "shape": [-1]}],
        "outputs": [
            {"name": PROBABILITIES, "datatype": "FP32", "shape": [-1, meta.num_classes]},
            {"name": LABEL, "datatype": "BYTES", "shape": [-1]},
        ],
    }


_MODEL_ERRORS: dict[int | str, dict[str, Any]] = {
    404: error_doc("Unknown model or version."),
    503: CLASSIFY_ERRORS[503],
}


def _describe(request: Request, path: str, name: str) -> JSONResponse:
    """Model metadata or readiness, whichever ``path`` asks for (see :func:`_address`)."""
    meta, action = _address(get_runtime(request), path, name)
    if action == _READY:
        return JSONResponse({"name": meta.name, "ready": True})
    if action == _INFER:  # as the router answers a GET of a POST route
        raise MethodNotAllowed(f"Method Not Allowed: {loggable(request.url.path)} answers POST.", ("POST",))
    return JSONResponse(_metadata_body(meta))


# Declared most specific first: the router takes the first template that matches, and {name:model_name}
# matches any number of segments.
@router.get(
    "/models/{name:model_name}/versions/{version}/ready",
    summary="Model version readiness",
    response_model=ModelReady,
    responses=_MODEL_ERRORS,
)
async def model_version_ready(name: str, version: str, request: Request) -> JSONResponse:
    return _describe(request, f"{name}/{_VERSIONS}/{version}/{_READY}", name)


@router.get(
    "/models/{name:model_name}/ready",
    summary="Model readiness",
    response_model=ModelReady,
    responses=_MODEL_ERRORS,
)
async def model_ready(name: str, request: Request) -> JSONResponse:
    return _describe(request, f"{name}/{_READY}", name)


@router.get(
    "/models/{name:model_name}/versions/{version}",
    summary="Model version metadata",
    response_model=ModelMetadataV2,
    responses=_MODEL_ERRORS,
)
async def model_version_metadata(name: str, version: str, request: Request) -> JSONResponse:
    return _describe(request, f"{name}/{_VERSIONS}/{version}", name)


@router.get(
    "/models/{name:model_name}",
    summary="Model metadata",
    response_model=ModelMetadataV2,
    responses=_MODEL_ERRORS,
)
async def model_metadata(name: str, request: Request) -> JSONResponse:
    return _describe(request, name, name)


async def _infer(request: Request, principal: Any, path: str, name: str) -> JSONResponse:
    """Answer a POST to ``/v2/models/{path}``, path ending in /infer (see :func:`_address`)."""
    runtime = get_runtime(request)
    meta, action = _address(runtime, path, name)
    if action != _INFER:  # a POST of the metadata or readiness of a model named ".../infer"
        raise MethodNotAllowed(
            f"Method Not Allowed: {loggable(request.url.path)} answers GET, HEAD.", ("GET",)
        )
    service = runtime.service()
    service.check_capacity(1)
    settings = runtime.settings
    body = await request.body()  # the size middleware caps this at max_batch_upload_bytes
    header_length = request.headers.get(HEADER_LENGTH)
    try:
        data = await _inflate(
            request.scope,
            body,
            request.headers.get("content-encoding"),
            max(settings.max_batch_upload_bytes, settings.max_upload_bytes),  # as the size middleware
        )
        # Off the event loop: checking and validating tens of MB of JSON takes a while, and /health
        # must still answer meanwhile.
        req, binary = await run_in_threadpool(
            _parse_request,
            data,
            header_length,
            settings.max_batch_images,
            request.headers.get("content-type", ""),
        )
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise BadRequest(f"Invalid inference request: {where}: {first.get('msg')}") from exc
    wanted = requested_outputs(req)
    try:
        images = _decode_images(req, binary, settings.max_batch_images, settings.max_upload_bytes)
    except PayloadTooLarge as exc:  # an element over the per-image limit: counted as /classify counts one
        runtime.metrics.image_refused(exc.status_code)
        raise
    ctx = request_context(request, principal)
    outcomes = await service.classify_many(images, ctx, receive=request.receive)
    rows: list[list[float]] = []
    labels: list[str] = []
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, CapsightError):
            raise type(outcome)(f"Input element {i}: {outcome.message}")
        rows.append(list(outcome.prediction.probabilities.values()))
        labels.append(outcome.prediction.label)
    tensors: dict[str, dict[str, Any]] = {
        PROBABILITIES: {
            "name": PROBABILITIES,
            "datatype": "FP32",
            "shape": [len(rows), meta.num_classes],
            "data": [p for row in rows for p in row],
            "parameters": {LABELS_JSON: json.dumps(list(meta.labels), ensure_ascii=False)},
        },
        LABEL: {"name": LABEL, "datatype": "BYTES", "shape": [len(labels)], "data": labels},
    }
    return JSONResponse(
        {
            "model_name": meta.name,
            "model_version": meta.version,
            "id": req.id if req.id is not None else ctx.request_id,
            "parameters": {"request_id": ctx.request_id},
            "outputs": [
                tensors[n] if count is None else classification(rows, meta.labels, count)
                for n, count in wanted
            ],
        }
    )


_INFER_DOC: dict[str, Any] = {
    "response_model": InferenceResponse,
    "responses": CLASSIFY_ERRORS
    | {
        404: error_doc("Unknown model or version."),
        415: error_doc("A Content-Encoding other than gzip or deflate."),
    },
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_refs(InferenceRequest.model_json_schema())}},
        }
    },
}


# The version route first, as for the GET routes.
@router.post(
    "/models/{name:model_name}/versions/{version}/infer",
    summary="Classify with a model version",
    **_INFER_DOC,
)
async def infer_version(name: str, version: str, request: Request, principal: ClassifyAccess) -> JSONResponse:
    return await _infer(request, principal, f"{name}/{_VERSIONS}/{version}/{_INFER}", name)


@router.post("/models/{name:model_name}/infer", summary="Classify base64 images (BYTES input)", **_INFER_DOC)
async def infer(name: str, request: Request, principal: ClassifyAccess) -> JSONResponse:
    return await _infer(request, principal, f"{name}/{_INFER}", name)
