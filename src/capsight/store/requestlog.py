"""Reading the request log (for the admin endpoints), and the retention policy (``purge.py``).

Listing uses keyset pagination on (created_at, id), newest first: the cursor is the position of the
last row returned, so pages stay stable while new requests arrive and deep pages cost the same as
the first. ``offset`` is supported too for simple UIs.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from capsight.api.logtext import loggable
from capsight.errors import BadRequest, ServiceUnavailable, first_line
from capsight.store.blobs import BlobStore, is_sha256
from capsight.store.database import Database, storable_text
from capsight.store.purge import LOGGED_ERROR_CHARS, PurgeResult, purge_older_than
from capsight.store.sqlalchemy_import import load_sqlalchemy

if TYPE_CHECKING:  # the ORM models (SQLAlchemy) load on first database use, not at import
    from capsight.store.models import ClassificationRow

logger = logging.getLogger(__name__)

MAX_LIMIT = 1000
# The longest a listing may wait for PostgreSQL (statement_timeout): room for a rare filter on a large
# log, not for a query held by a table lock (a VACUUM FULL, a newer release's migration). It held its
# thread, one of the few every database call of the API runs on, for as long as the lock was held.
LIST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class LoggedClassification:
    id: int
    request_id: str
    item_index: int
    created_at: datetime
    endpoint: str
    client_id: str
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
    image_ref: str | None
    cached: bool
    status_code: int
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass(frozen=True)
class RequestPage:
    items: list[LoggedClassification]
    next_cursor: str | None  # pass back as ``cursor`` for the next (older) page; None = last page


def encode_cursor(created_at: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, row_id = text.split("|")
        created = datetime.fromisoformat(stamp)
        created = created.astimezone(UTC) if created.tzinfo else created.replace(tzinfo=UTC)
        number = int(row_id)
        if not 0 <= number < 2**63:  # a row id the database could hold (a crafted one overflows it)
            raise ValueError("row id out of range")
        return created, number
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise BadRequest("invalid cursor") from exc


class RequestLog:
    def __init__(self, db: Database, blobs: BlobStore | None) -> None:
        self.db = db
        self.blobs = blobs

    def list_requests(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        label: str | None = None,
        min_conf: float | None = None,
        max_conf: float | None = None,
        client_id: str | None = None,
        model_version: str | None = None,
        limit: int = 50,
        offset: int = 0,
        cursor: str | None = None,
    ) -> RequestPage:
        """Classifications newest first, filtered; ``since`` inclusive, ``until`` exclusive."""
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
        if offset < 0:
            raise BadRequest("offset must be >= 0")
        if min_conf is not None and max_conf is not None and min_conf > max_conf:
            # In the names of GET /v1/requests, its only caller: min_conf/max_conf are no query parameter.
            raise BadRequest(f"min_confidence ({min_conf:g}) must not exceed max_confidence ({max_conf:g}).")
        if since is not None and until is not None and since >= until:
            # The two swapped answered 200 with no rows: "nothing was classified then".
            raise BadRequest(
                f"since ({since.isoformat()}) must be before until ({until.isoformat()}): "
                "since is inclusive, until exclusive."
            )
        load_sqlalchemy()
        from sqlalchemy import and_, or_, select, text

        from capsight.store.models import ClassificationRow, RequestRow

        c = ClassificationRow
        query = select(c, RequestRow.endpoint, RequestRow.client_id, RequestRow.client_request_id).join(
            RequestRow, RequestRow.request_id == c.request_id
        )
        conditions: list[Any] = []
        if since is not None:
            conditions.append(c.created_at >= since)
        if until is not None:
            conditions.append(c.created_at < until)
        if label is not None:
            conditions.append(c.label == storable_text(label))
        if min_conf is not None:
            conditions.append(c.confidence >= min_conf)
        if max_conf is not None:
            conditions.append(c.confidence <= max_conf)
        if client_id is not None:
            conditions.append(RequestRow.client_id == storable_text(client_id))
        if model_version is not None:
            conditions.append(c.model_version == storable_text(model_version))
        if cursor is not None:
            at, row_id = decode_cursor(cursor)
            conditions.append(or_(c.created_at < at, and_(c.created_at == at, c.id < row_id)))
        query = query.where(*conditions).order_by(c.created_at.desc(), c.id.desc())
        query = query.offset(offset).limit(limit + 1)
        try:
            with self.db.session() as session:
                if self.db.dialect == "postgresql":  # this transaction only: the pool's sessions keep theirs
                    ms = str(int(LIST_TIMEOUT_S * 1000))
                    session.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": ms})
                rows = session.execute(query).all()
        except BadRequest:
            raise
        except Exception as exc:
            # The first line: SQLAlchemy's text goes on with the SQL and the filter's parameters.
            logger.warning("request log query failed: %s", first_line(exc))
            raise ServiceUnavailable("Request log database unavailable.") from exc
        items = [_logged(row[0], row[1], row[2], row[3]) for row in rows[:limit]]
        more = len(rows) > limit
        next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if more and items else None
        return RequestPage(items=items, next_cursor=next_cursor)

    def count(self) -> int:
        load_sqlalchemy()
        from sqlalchemy import func, select

        from capsight.store.models import ClassificationRow

        with self.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(ClassificationRow)) or 0)

    def get_image(self, sha256: str) -> bytes | None:
        """The stored image with this hash; None if unknown or not a sha256; 503 if the store is down,
        or if the image is not there while the database is down (it may be waiting in a spool)."""
        if self.blobs is None or not is_sha256(sha256):
            return None
        try:
            data = self.blobs.get(sha256)
        except Exception as exc:
            logger.warning("image store read failed: %s", loggable(str(exc), LOGGED_ERROR_CHARS))
            raise ServiceUnavailable("Image store unavailable.") from exc
        if data is None:
            self._database_answers()
        return data

    def _database_answers(self) -> None:
        """503 while the database is down. Why: an image classified during a database outage waits
        in its replica's spool with its record and reaches the store at the replay, so a 404 told a
        client that an image the log would hold within seconds of the database's return never
        would (the outage's other admin reads are 503 to retry, as the README says)."""
        load_sqlalchemy()
        from sqlalchemy import text

        try:
            with self.db.session() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            logger.warning("request log query failed: %s", first_line(exc))
            raise ServiceUnavailable(
                "Request log database unavailable: an image logged meanwhile is stored once it is back."
            ) from exc

    def purge_older_than(self, days: float, *, chunk: int = 500) -> PurgeResult:
        """Delete requests, classifications and (no longer referenced) images older than ``days``."""
        return purge_older_than(self.db, self.blobs, days, chunk=chunk)


def _logged(
    row: ClassificationRow, endpoint: str, client_id: str, client_request_id: str | None
) -> LoggedClassification:
    return LoggedClassification(
        id=row.id,
        # The id the client saw (its own X-Request-ID when it sent one); the log's own key stays
        # internal, so two requests that reused one X-Request-ID are two rows under that id.
        request_id=client_request_id or row.request_id,
        item_index=row.item_index,
        created_at=row.created_at,
        endpoint=endpoint,
        client_id=client_id,
        model_name=row.model_name,
        model_version=row.model_version,
        label=row.label,
        confidence=row.confidence,
        probabilities=row.probabilities,
        latency_ms=row.latency_ms,
        image_sha256=row.image_sha256,
        image_bytes=row.image_bytes,
        image_format=row.image_format,
        width=row.width,
        height=row.height,
        image_ref=row.image_ref,
        cached=row.cached,
        status_code=row.status_code,
        error=row.error,
    )
