"""HTTP shapes: pydantic models that document the API at /docs, and the renderers that fill them.

Routes return plain dicts built here through ``JSONResponse`` (no second validation pass on the hot
path); the models exist so the OpenAPI document tells clients the truth about those dicts, and the
contract tests check responses against them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from capsight.api.results import ClassificationResult
from capsight.errors import CapsightError
from capsight.inference.metadata import ModelMetadata


class ErrorResponse(BaseModel):
    error: str


class ModelVersion(BaseModel):
    name: str
    version: str


class ModelReloaded(BaseModel):
    previous: ModelVersion | None = Field(
        description="None when the first load had failed: nothing was served."
    )
    model: ModelVersion
    changed: bool = Field(
        description="Whether another model is served now: another name or version, or the same ones "
        "with other weights, labels or preprocessing."
    )


class LegacyClassifyResponse(BaseModel):
    """The original Flask service's answer, kept key for key."""

    bottle_status: str
    confidence: float = Field(ge=0.0, le=1.0)


class ModelRef(BaseModel):
    name: str
    version: str


class ImageOut(BaseModel):
    width: int
    height: int
    format: str


class TimingOut(BaseModel):
    decode_ms: float
    preprocess_ms: float
    inference_ms: float
    total_ms: float


class TopKEntry(BaseModel):
    label: str
    probability: float


class ClassifyResponse(BaseModel):
    request_id: str
    label: str
    confidence: float = Field(ge=0.0, le=1.0)
    probabilities: dict[str, float]
    top_k: list[TopKEntry]
    model: ModelRef
    image: ImageOut
    timing: TimingOut
    cached: bool


class BatchItem(BaseModel):
    index: int
    filename: str | None = None
    ok: bool
    label: str | None = None
    confidence: float | None = None
    probabilities: dict[str, float] | None = None
    top_k: list[TopKEntry] | None = None
    image: ImageOut | None = None
    timing: TimingOut | None = None
    cached: bool | None = None
    error: str | None = None
    status_code: int | None = None


class BatchResponse(BaseModel):
    request_id: str
    model: ModelRef
    count: int
    results: list[BatchItem]


class ModelInfo(BaseModel):
    name: str
    version: str
    labels: list[str]
    architecture: str
    input_size: int
    preprocessing: dict[str, Any]
    metrics: dict[str, Any]
    created_at: str | None
    ready: bool


class UploadLimits(BaseModel):
    """What this server accepts, so clients (the web page) can check a file before sending it."""

    max_upload_bytes: int
    max_pixels: int
    max_batch_images: int
    # The body of one /v1/classify/batch request, all its images together: over it the whole batch
    # is refused, even when each image is under max_upload_bytes.
    max_batch_upload_bytes: int


class ModelList(BaseModel):
    models: list[ModelInfo]
    limits: UploadLimits


class LiveResponse(BaseModel):
    status: str


class LoggedClassificationOut(BaseModel):
    """One row of the request log: one classified (or refused) image."""

    id: int
    request_id: str
    item_index: int = Field(description="Position of the image within its request (batch, v2).")
    created_at: str = Field(description="ISO 8601, UTC.")
    endpoint: str
    client_id: str = Field(description="API key id, JWT subject, or 'ip:<address>' without auth.")
    model_name: str
    model_version: str
    label: str | None
    confidence: float | None
    probabilities: dict[str, float] | None
    latency_ms: float
    image_sha256: str | None
    image_bytes: int
    image_format: str | None
    width: int | None
    height: int | None
    image_ref: str | None = Field(description="Where the image is stored (path key or s3:// URL).")
    cached: bool
    status_code: int
    error: str | None


class RequestLogPage(BaseModel):
    items: list[LoggedClassificationOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null at the end."
    )


class RequestLogHealth(BaseModel):
    status: str = Field(description="ok, starting (not tried yet), or degraded (records are spooled)")
    error: str | None = Field(description="why it is degraded (with auth on, named to admins only)")
    spooled: int = Field(description="records waiting in this worker's spool")


class ReadyResponse(BaseModel):
    status: str
    model: str
    version: str
    request_log: RequestLogHealth | None = Field(
        default=None, description="absent when the server keeps no request log; never fails readiness"
    )


# -- renderers ---------------------------------------------------------------------------------------


def render_top_k(result: ClassificationResult, k: int) -> list[dict[str, Any]]:
    return result.prediction.top_k(k)


def render_result(result: ClassificationResult, k: int) -> dict[str, Any]:
    """The per-image part shared by /v1/classify and each /v1/classify/batch item."""
    image, timing = result.image, result.timing
    return {
        "label": result.prediction.label,
        "confidence": result.prediction.confidence,
        "probabilities": result.prediction.probabilities,
        "top_k": render_top_k(result, k),
        "image": {"width": image.width, "height": image.height, "format": image.format},
        "timing": {
            "decode_ms": timing.decode_ms,
            "preprocess_ms": timing.preprocess_ms,
            "inference_ms": timing.inference_ms,
            "total_ms": timing.total_ms,
        },
        "cached": result.cached,
    }


def render_classify(result: ClassificationResult, request_id: str, k: int) -> dict[str, Any]:
    body = {"request_id": request_id, **render_result(result, k)}
    body["model"] = {"name": result.model_name, "version": result.model_version}
    return body


def render_batch_item(
    index: int, filename: str | None, outcome: ClassificationResult | CapsightError, k: int
) -> dict[str, Any]:
    if isinstance(outcome, CapsightError):
        return {
            "index": index,
            "filename": filename,
            "ok": False,
            "error": outcome.message,
            "status_code": outcome.status_code,
        }
    return {"index": index, "filename": filename, "ok": True, **render_result(outcome, k)}


def render_model(meta: ModelMetadata, ready: bool) -> dict[str, Any]:
    return {
        "name": meta.name,
        "version": meta.version,
        "labels": list(meta.labels),
        "architecture": meta.architecture,
        "input_size": meta.preprocessing.input_size,
        "preprocessing": meta.preprocessing.to_dict(),
        "metrics": meta.metrics,
        "created_at": meta.created_at,
        "ready": ready,
    }
