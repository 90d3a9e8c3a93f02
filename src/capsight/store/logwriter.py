"""Writes a batch of request-log records: images to the blob store, then rows in one transaction.

Images go first so a row never points at a missing image. Inserts are idempotent
(``ON CONFLICT DO NOTHING`` on the request id and on (request id, item index)), which is what makes
spool replays and retries safe: writing the same batch twice leaves the same rows.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Insert

from capsight.store.blobs import BlobStore
from capsight.store.database import Database, storable_text
from capsight.store.models import ClassificationRow, RequestRow
from capsight.store.protocols import ClassificationRecord

logger = logging.getLogger(__name__)

Item = tuple[ClassificationRecord, bytes | None]

# Errors that mean "the database is unreachable", as opposed to "this record is bad".
DB_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    OSError,
)

# SQLSTATEs of a database that takes no writes for now, which psycopg files as InternalError, not as
# an OperationalError: 25006, a read-only transaction (a managed database set read-only over its disk
# quota, a primary demoted to standby by a failover, default_transaction_read_only).
_READ_ONLY_SQLSTATES = frozenset({"25006"})


def is_read_only(exc: BaseException) -> bool:
    """Whether ``exc`` is the database refusing writes for now (an outage), not refusing the data."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in _READ_ONLY_SQLSTATES


def _clip(value: str | None, length: int | None = None) -> str | None:
    """Text the column can hold: NUL replaced (PostgreSQL refuses it), clipped to ``length``."""
    if value is None:
        return None
    value = storable_text(value)
    return value[:length] if length is not None and len(value) > length else value


def request_values(record: ClassificationRecord) -> dict[str, Any]:
    return {
        "request_id": record.request_id[:64],
        "created_at": record.created_at,
        "endpoint": _clip(record.endpoint, 200),
        "client_id": _clip(record.client_id, 200),
        "status_code": record.status_code,
        "error": _clip(record.error),
        "latency_ms": record.latency_ms,
        "client_request_id": _clip(record.client_request_id, 128),
        "item_count": record.item_count,
    }


def classification_values(record: ClassificationRecord, image_ref: str | None) -> dict[str, Any]:
    return {
        "request_id": record.request_id[:64],
        "item_index": record.item_index,
        "created_at": record.created_at,
        "model_name": _clip(record.model_name, 200),
        "model_version": _clip(record.model_version, 100),
        "label": _clip(record.label, 200),
        "confidence": record.confidence,
        "probabilities": record.probabilities,
        "latency_ms": record.latency_ms,
        "image_sha256": record.image_sha256,
        "image_bytes": record.image_bytes,
        "image_format": _clip(record.image_format, 16),
        "width": record.width,
        "height": record.height,
        "image_ref": image_ref,
        "cached": record.cached,
        "status_code": record.status_code,
        "error": _clip(record.error),
    }


def _insert_ignore(db: Database, table: Any) -> Insert:
    if db.dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if db.dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"request log on {db.dialect} is not supported (use SQLite or PostgreSQL)")


# Puts of one batch run side by side. Why: each put waits on the disk (write, fsync file, fsync
# folder) or on S3 (a round trip), and every wait gives up the GIL; in a busy server the recorder's
# one thread then queued for the GIL after each of them and fell behind an API answering 155 req/s:
# its queue filled (images held in memory, the rest spooled on the event loop). Eight threads share
# those waits; S3 puts overlap their round trips.
IMAGE_PUT_THREADS = 8
_image_puts: ThreadPoolExecutor | None = None
_image_puts_lock = threading.Lock()


def _put_pool() -> ThreadPoolExecutor:
    global _image_puts
    with _image_puts_lock:
        if _image_puts is None:
            _image_puts = ThreadPoolExecutor(IMAGE_PUT_THREADS, thread_name_prefix="capsight-image-put")
        return _image_puts


def store_images(blobs: BlobStore, items: list[Item]) -> dict[str, str]:
    """Put each distinct image once; returns sha256 -> reference. Raises if the store is unreachable
    (after every put of the batch has ended, so none is still writing when the caller gives up)."""
    distinct: dict[str, bytes] = {}
    for record, image in items:
        if image is not None and record.image_sha256 is not None:
            distinct.setdefault(record.image_sha256, image)
    if len(distinct) <= 1:
        return {sha: blobs.put(sha, image) for sha, image in distinct.items()}
    pool = _put_pool()
    futures = {sha: pool.submit(blobs.put, sha, image) for sha, image in distinct.items()}
    wait(futures.values())
    return {sha: future.result() for sha, future in futures.items()}


def insert_rows(db: Database, items: list[Item], refs: dict[str, str]) -> None:
    """Insert the rows of ``items`` in one transaction, skipping ones already there."""
    if not items:
        return
    requests: dict[str, dict[str, Any]] = {}
    classifications: dict[tuple[str, int], dict[str, Any]] = {}
    for record, _image in items:
        requests.setdefault(record.request_id[:64], request_values(record))
        ref = refs.get(record.image_sha256) if record.image_sha256 else None
        classifications.setdefault(
            (record.request_id[:64], record.item_index), classification_values(record, ref)
        )
    db.ensure_ready()
    with db.engine.begin() as connection:
        connection.execute(_insert_ignore(db, RequestRow), list(requests.values()))
        connection.execute(_insert_ignore(db, ClassificationRow), list(classifications.values()))


def has_images(blobs: BlobStore | None, items: list[Item]) -> bool:
    """Whether writing ``items`` stores images, and so must hold ``Database.image_lock`` (shared)."""
    return blobs is not None and any(image is not None for _, image in items)


def write_batch(db: Database, blobs: BlobStore | None, items: list[Item]) -> None:
    """Images, then rows. Raises on an outage (of either) so the caller can spool the whole batch."""
    if not has_images(blobs, items):
        insert_rows(db, items, {})
        return
    assert blobs is not None
    with db.image_lock(exclusive=False):  # no retention purge deletes an image between the two
        insert_rows(db, items, store_images(blobs, items))
