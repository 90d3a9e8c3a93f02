"""The database schema as SQLAlchemy 2 typed declarative models.

The Alembic migrations under ``store/migrations`` are the source of truth for the deployed schema;
these models must match them (a test compares the two with Alembic's autogenerate diff), so any
change here needs a new migration script.

Timestamps are always stored and returned as UTC: :class:`UTCDateTime` makes SQLite (which has no
time zones) and PostgreSQL (``timestamptz``) give back the same aware datetimes, which keeps the
query helpers and tests free of per-dialect branches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names, so migrations can drop/alter them by name on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on every dialect."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        # SQLite stores text; a fixed naive-UTC form keeps string comparison equal to time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class User(Base):
    """An owner of API keys; optional, keys can exist without one."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An API key. Only a hash of the secret part is stored; the plaintext is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16))
    rate_limit: Mapped[str | None] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class RequestRow(Base):
    """One HTTP request (or batch-job item) that produced one or more classifications."""

    __tablename__ = "requests"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    endpoint: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(200), index=True)
    status_code: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float] = mapped_column(Float)
    # The X-Request-ID the client sent, when it sent one. request_id is always the server's own:
    # clients reuse ids (retries, fixed values), and a reused key silently dropped the second request.
    # Indexed: feedback names a request by the id its client saw, often this one.
    client_request_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    # How many images a batch request had, as answered (0010): its rows are logged one by one, and
    # feedback on an index past it names none. NULL: logged before 0010, or not a batch.
    item_count: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ClassificationRow(Base):
    """One classified image: the model's answer plus what was sent and where the image is stored."""

    __tablename__ = "classifications"
    __table_args__ = (
        UniqueConstraint("request_id", "item_index", name="uq_classifications_request_item"),
        Index("ix_classifications_created_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.request_id", ondelete="CASCADE"))
    item_index: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column()
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(100))
    label: Mapped[str | None] = mapped_column(String(200), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    probabilities: Mapped[dict[str, Any] | None] = mapped_column()
    latency_ms: Mapped[float] = mapped_column(Float)
    image_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    image_bytes: Mapped[int] = mapped_column(Integer)
    image_format: Mapped[str | None] = mapped_column(String(16))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    image_ref: Mapped[str | None] = mapped_column(String(1000))
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    status_code: Mapped[int] = mapped_column(Integer, default=200)
    error: Mapped[str | None] = mapped_column(Text)


class FeedbackRow(Base):
    """A client's word on one answer: the label the image should have had (the same as the
    model's when confirming it). ``request_id`` is the id the client saw, the server's own or its
    X-Request-ID; export matches it to the request log, never trusting it on its own.
    """

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    item_index: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str] = mapped_column(String(200))
    # An admin (or, with auth off, anyone) may correct any client's answers; others only their own.
    any_client: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    model_name: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class PurgeMarkRow(Base):
    """How far back a complete purge deleted the request log: every request created before
    ``purged_before`` is gone. The feedback route refuses (410) an id issued before the newest mark
    that the log does not hold; older marks are dropped as newer ones reach further.
    """

    __tablename__ = "purge_marks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    purged_before: Mapped[datetime] = mapped_column()
    purged_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """A batch classification job (zip upload, URL list or bucket prefix) run in the background.

    ``runner`` names the process running it and ``updated_at`` is that runner's heartbeat: together
    they let a restarted (or surviving) server tell an abandoned ``running`` job from a live one.
    ``summary`` holds what the job has found out (counts per label, skipped inputs, webhook delivery).
    """

    __tablename__ = "jobs"
    # A key's listing (``client_id = ?`` newest first, a page at a time) reads its own jobs in order
    # from the first instead of scanning and sorting every client's (0008); an admin's, every
    # client's, from the second (0009).
    __table_args__ = (
        Index("ix_jobs_client_created", "client_id", "created_at", "id"),
        Index("ix_jobs_created", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # queued|running|succeeded|failed|cancelled
    client_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any] | None] = mapped_column()
    results_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    runner: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[dict[str, Any] | None] = mapped_column()
    # Runs that ended with their server gone (see JobStore.recover): a job that keeps taking its
    # server down is failed after a few, not restarted for ever.
    abandoned_runs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class JobItem(Base):
    """One input of a job and its outcome."""

    __tablename__ = "job_items"
    __table_args__ = (UniqueConstraint("job_id", "item_index", name="uq_job_items_job_item"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    item_index: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(2000))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|failed
    label: Mapped[str | None] = mapped_column(String(200))
    confidence: Mapped[float | None] = mapped_column(Float)
    probabilities: Mapped[dict[str, Any] | None] = mapped_column()
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class JobResultPart(Base):
    """A finished job's results.jsonl (with the client's names, gzip), in parts of a few MB.

    Why in the database: a job runs on one replica and writes its results to that replica's disk,
    but ``GET /v1/jobs/{id}/results`` can land on any replica behind the load balancer.
    """

    __tablename__ = "job_result_parts"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class JobNode(Base):
    """When a job node (host name + data_dir) last ran its job workers: a zip job is pinned to the
    node holding its upload, and a node not seen for long (a deleted pod) will never run it."""

    __tablename__ = "job_nodes"

    node: Mapped[str] = mapped_column(String(1000), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
