"""A logged request with its feedback, as the server writes them: shared by the export tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.feedback import FeedbackEntry, FeedbackStore
from capsight.store.logwriter import write_batch
from store.store_records import make_record


def log_with_feedback(db: Database, blobs: LocalBlobStore, image: bytes, label: str) -> str:
    """Log ``image`` as classified ``closed`` by client key-a, then key-a's feedback that it is
    ``label``; returns the request id."""
    record = make_record(
        created_at=datetime.now(UTC) - timedelta(minutes=5),
        client_id="key-a",
        confidence=0.8,
        probabilities=None,
        image_sha256=sha256_hex(image),
        image_bytes=len(image),
        image_format="JPEG",
        width=64,
        height=48,
    )
    write_batch(db, blobs, [(record, image)])
    FeedbackStore(db).add(FeedbackEntry(record.request_id, 0, "key-a", False, "bottle-status", label))
    return record.request_id
