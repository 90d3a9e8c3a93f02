"""What a classification returns, shared by the service, the cache and the API schemas."""

from __future__ import annotations

from dataclasses import dataclass

from capsight.inference.classifier import Prediction


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    endpoint: str
    client_id: str


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
