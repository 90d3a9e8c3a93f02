"""Record builders shared by the store tests (a module, not conftest, so imports are unambiguous)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from capsight.store.protocols import ClassificationRecord
from servers import free_port


def make_record(**overrides: Any) -> ClassificationRecord:
    values: dict[str, Any] = {
        "request_id": uuid.uuid4().hex,
        "created_at": datetime.now(UTC),
        "endpoint": "/v1/classify",
        "client_id": "203.0.113.7",
        "model_name": "bottle-status",
        "model_version": "test-1",
        "label": "closed",
        "confidence": 0.91,
        "probabilities": {"background": 0.04, "closed": 0.91, "opened": 0.05},
        "latency_ms": 4.2,
        "image_sha256": None,
        "image_bytes": 0,
        "image_format": "png",
        "width": 32,
        "height": 24,
    }
    values.update(overrides)
    return ClassificationRecord(**values)


def unreachable_postgres_url() -> str:
    """A PostgreSQL URL nothing listens on: connecting fails for real, at once."""
    return f"postgresql+psycopg://capsight@127.0.0.1:{free_port()}/nothing"
