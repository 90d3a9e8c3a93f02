"""What a classification returns, shared by the service, the cache and the API schemas."""

from __future__ import annotations

from dataclasses import dataclass

from capsight.inference.classifier import Prediction


@dataclass(frozen=True)
class RequestContext:
    request_id: str  # what the client sees (its own X-Request-ID when it sent one)
    endpoint: str
    client_id: str
    log_id: str = ""  # the request log's key: always the server's own, unique per request
    # Whose result-cache entries this request reads and writes: the authenticated principal's id,
    # so one client's uploads never show another as `cached` (which would tell it that someone sent
    # those bytes); "" (the one shared cache) for anonymous callers, i.e. with auth off.
    cache_scope: str = ""
    item_count: int | None = None  # a batch request's number of images, logged with each of them

    @property
    def log_key(self) -> str:
        return self.log_id or self.request_id

    @property
    def client_request_id(self) -> str | None:
        return self.request_id if self.log_id and self.log_id != self.request_id else None


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str


@dataclass(frozen=True)
class Timing:
    decode_ms: float
    preprocess_ms: float
    inference_ms: float
    total_ms: float


@dataclass(frozen=True)
class ClassificationResult:
    prediction: Prediction
    model_name: str
    model_version: str
    image: ImageInfo
    timing: Timing
    sha256: str | None
    cached: bool = False


def ms(seconds: float) -> float:
    """Seconds -> milliseconds, rounded to the microsecond, as every timing in a response is."""
    return round(seconds * 1000.0, 3)
