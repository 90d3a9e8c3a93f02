"""Image classification over HTTP: the legacy ``/classify`` contract and the richer ``/v1`` API."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from capsight.api.routes.common import CLASSIFY_ERRORS, error_doc, multipart_body, request_context
from capsight.api.runtime import get_runtime
from capsight.api.schemas import (
    BatchResponse,
    ClassifyResponse,
    LegacyClassifyResponse,
    render_batch_item,
    render_classify,
)
from capsight.api.security import ClassifyAccess
from capsight.api.service import ClassificationService
from capsight.api.uploads import BATCH_FIELDS, SINGLE_FIELDS, Upload, read_uploads
from capsight.errors import PayloadTooLarge

router = APIRouter(tags=["classify"])

# Uploads are read as sent (see read_uploads); only /v2 infer inflates gzip and deflate bodies.
UPLOAD_ERRORS = CLASSIFY_ERRORS | {
    415: error_doc("A compressed body (Content-Encoding): send it uncompressed.")
}

TopK = Annotated[int, Query(ge=1, le=1000, description="How many of the most likely labels to list.")]


async def _read_one(request: Request) -> tuple[ClassificationService, Upload]:
    """Readiness and queue room are checked before the body is read: a 503 costs nothing.

    An image over the size limit is counted as refused here, as a batch's is by the service: it
    never reaches the service (one refused from its Content-Length: see api/app.py)."""
    runtime = get_runtime(request)
    service = runtime.service()
    service.check_capacity(1)
    try:
        (upload,) = await read_uploads(
            request, fields=SINGLE_FIELDS, max_files=1, max_file_bytes=runtime.settings.max_upload_bytes
        )
    except PayloadTooLarge as exc:
        runtime.metrics.image_refused(exc.status_code)
        raise
    return service, upload


@router.post(
    "/classify",
    summary="Classify one image (legacy contract)",
    response_model=LegacyClassifyResponse,
    responses=UPLOAD_ERRORS,
    openapi_extra=multipart_body("file"),
)
async def classify_legacy(request: Request, principal: ClassifyAccess) -> JSONResponse:
    """The original service's contract, kept exactly: multipart field ``file`` (or ``image``) in,
    ``{"bottle_status": label, "confidence": p}`` out."""
    service, upload = await _read_one(request)
    result = await service.classify(upload.data, request_context(request, principal), receive=request.receive)
    return JSONResponse(
        {"bottle_status": result.prediction.label, "confidence": result.prediction.confidence}
    )


@router.post(
    "/v1/classify",
    summary="Classify one image",
    response_model=ClassifyResponse,
    responses=UPLOAD_ERRORS,
    openapi_extra=multipart_body("file"),
)
async def classify_v1(request: Request, principal: ClassifyAccess, k: TopK = 5) -> JSONResponse:
    """Label, confidence, every class probability, the top ``k``, model, image facts and timings."""
    service, upload = await _read_one(request)
    ctx = request_context(request, principal)
    result = await service.classify(upload.data, ctx, receive=request.receive)
    return JSONResponse(render_classify(result, ctx.request_id, k))


@router.post(
    "/v1/classify/batch",
    summary="Classify several images in one request",
    response_model=BatchResponse,
    responses=UPLOAD_ERRORS,
    openapi_extra=multipart_body("files", many=True),
)
async def classify_batch(request: Request, principal: ClassifyAccess, k: TopK = 5) -> JSONResponse:
    """Up to ``max_batch_images`` images (field ``files``, repeated; ``file``/``image`` also work).
    One result or error per image, in upload order: a bad image does not fail its neighbours."""
    runtime = get_runtime(request)
    service = runtime.service()
    service.check_capacity(1)
    uploads = await read_uploads(
        request,
        fields=BATCH_FIELDS,
        max_files=runtime.settings.max_batch_images,
        max_file_bytes=runtime.settings.max_upload_bytes,
        batch=True,
    )
    # Logged with each image (its rows are written one by one, in the background) and kept here
    # until they are: feedback on an index the batch never had is refused, not recorded unmatched.
    ctx = dataclasses.replace(request_context(request, principal), item_count=len(uploads))
    runtime.batch_sizes.note(ctx.log_key, ctx.client_id, len(uploads))
    outcomes = await service.classify_many([u.error or u.data for u in uploads], ctx, receive=request.receive)
    meta = service.metadata
    return JSONResponse(
        {
            "request_id": ctx.request_id,
            "model": {"name": meta.name, "version": meta.version},
            "count": len(outcomes),
            "results": [
                render_batch_item(i, upload.filename, outcome, k)
                for i, (upload, outcome) in enumerate(zip(uploads, outcomes, strict=True))
            ],
        }
    )
