"""The request-log row of one image: what :class:`~capsight.api.service.ClassificationService`
hands to the store's recorder for every image it answers, success or failure.

Why a module of its own: which facts of an outcome are logged (and whether its bytes are kept) is
one concern, apart from getting the image classified; the service calls :meth:`OutcomeRecorder.record`
once per image and never waits on the store.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from capsight.api.results import ClassificationResult, ImageInfo, RequestContext, ms
from capsight.errors import CapsightError
from capsight.inference.metadata import ModelMetadata
from capsight.settings import Settings
from capsight.store.protocols import ClassificationRecord
from capsight.store.services import Services

logger = logging.getLogger(__name__)


class OutcomeRecorder:
    def __init__(self, services: Services, metadata: ModelMetadata, settings: Settings) -> None:
        """``services.recorder`` is read at each image: None (no request log) records nothing."""
        self._services = services
        self._metadata = metadata
        self._settings = settings

    def record(
        self,
        ctx: RequestContext,
        index: int,
        data: bytes,
        *,
        result: ClassificationResult | None = None,
        error: CapsightError | None = None,
        sha: str | None = None,
        image: ImageInfo | None = None,
        started: float | None = None,
    ) -> None:
        recorder = self._services.recorder
        if recorder is None:
            return
        try:
            if result is not None:
                image, sha = result.image, result.sha256
                latency_ms = result.timing.total_ms
            else:
                latency_ms = ms(time.perf_counter() - started) if started is not None else 0.0
            record = ClassificationRecord(
                request_id=ctx.log_key,
                client_request_id=ctx.client_request_id,
                created_at=datetime.now(UTC),
                endpoint=ctx.endpoint,
                client_id=ctx.client_id,
                model_name=self._metadata.name,
                model_version=self._metadata.version,
                label=result.prediction.label if result else None,
                confidence=result.prediction.confidence if result else None,
                probabilities=result.prediction.probabilities if result else None,
                latency_ms=latency_ms,
                image_sha256=sha,
                image_bytes=len(data),
                image_format=image.format if image else None,
                width=image.width if image else None,
                height=image.height if image else None,
                status_code=error.status_code if error else 200,
                error=error.message if error else None,
                cached=result.cached if result else False,
                item_index=index,
                item_count=ctx.item_count,
            )
            # Only bytes that decoded as an image are worth keeping; never store arbitrary uploads.
            keep_image = self._settings.store_images and image is not None
            recorder.submit(record, data if keep_image else None)
        except Exception:
            logger.exception("request recorder failed; the response is unaffected")
