"""What ``capsight db status`` reports: where the database is, whether its schema matches this
release, and how much it holds.

An operator upgrading a replica, sizing retention or chasing "why is the disk full" needs these
answers without opening a SQL shell. It only reads: an unmigrated or missing database is reported as
such, never created or migrated as a side effect.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capsight.store.alembic_support import alembic_config
from capsight.store.database import Database
from capsight.store.sqlalchemy_import import load_sqlalchemy


@dataclass(frozen=True)
class SchemaState:
    """The database's Alembic revisions against this release's head."""

    current: tuple[str, ...]
    head: str
    newer: tuple[str, ...]  # revisions a newer release wrote, unknown to this one

    @property
    def verdict(self) -> str:
        if self.newer:
            return "newer"  # a newer release migrated it (rolling update); this one works on it as is
        if not self.current:
            return "empty"
        return "current" if self.current == (self.head,) else "behind"


@dataclass(frozen=True)
class DatabaseStatus:
    url: str  # password hidden
    exists: bool
    schema: SchemaState | None = None
    requests: int = 0
    classifications: int = 0
    oldest_request: datetime | None = None
    newest_request: datetime | None = None
    api_keys_active: int = 0
    api_keys_revoked: int = 0
    jobs: dict[str, int] = field(default_factory=dict)
    feedback: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["oldest_request"] = self.oldest_request.isoformat() if self.oldest_request else None
        data["newest_request"] = self.newest_request.isoformat() if self.newest_request else None
        if self.schema is not None:
            data["schema"] = {
                "current": list(self.schema.current),
                "head": self.schema.head,
                "newer": list(self.schema.newer),
                "verdict": self.schema.verdict,
            }
        return data


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when there is none yet; None when it is there or not SQLite.

    Why commands ask: opening a SQLite file that is not there creates an empty one. The default
    CAPSIGHT_DATA_DIR, ``var``, is relative, so a command run from another working directory (or
    with a mistyped setting) found an empty new database instead of the server's, and left it behind.
    """
    from capsight.store.sqlalchemy_import import load_sqlalchemy
    from capsight.store.sqlite_file import sqlite_file

    load_sqlalchemy()
    from sqlalchemy.exc import ArgumentError

    try:
        file = sqlite_file(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        return None  # opening it says what is wrong with it, as every database command does
    if file is None:
        return None
    path = file.resolve()
    return None if path.is_file() else path


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have one head"
    return str(head)


def database_status(db: Database) -> DatabaseStatus:
    """Read-only report on ``db``; raises what the driver raises when it is unreachable."""
    load_sqlalchemy()
    from sqlalchemy import func, select
    from sqlalchemy.engine import make_url

    from capsight.store.alembic_support import current_revisions, unknown_revisions
    from capsight.store.models import ApiKey, ClassificationRow, FeedbackRow, Job, RequestRow

    shown = make_url(db.url).render_as_string(hide_password=True)
    if missing_sqlite_file(db.url) is not None:
        return DatabaseStatus(url=shown, exists=False)
    with db.engine.connect() as connection:
        schema = SchemaState(
            current=current_revisions(connection),
            head=_head_revision(),
            newer=unknown_revisions(connection),
        )
        if schema.verdict == "empty":
            return DatabaseStatus(url=shown, exists=True, schema=schema)
        requests, oldest, newest = connection.execute(
            select(func.count(), func.min(RequestRow.created_at), func.max(RequestRow.created_at))
        ).one()
        classifications = connection.scalar(select(func.count()).select_from(ClassificationRow))
        revoked = ApiKey.revoked_at.is_not(None)
        keys = dict(
            connection.execute(select(revoked, func.count()).select_from(ApiKey).group_by(revoked)).all()
        )
        jobs = dict(connection.execute(select(Job.state, func.count()).group_by(Job.state)).all())
        feedback = (
            connection.scalar(select(func.count()).select_from(FeedbackRow))
            if _has_feedback(connection)
            else 0
        )
    return DatabaseStatus(
        url=shown,
        exists=True,
        schema=schema,
        requests=int(requests or 0),
        classifications=int(classifications or 0),
        oldest_request=_as_datetime(oldest),
        newest_request=_as_datetime(newest),
        api_keys_active=int(keys.get(False, 0)),
        api_keys_revoked=int(keys.get(True, 0)),
        jobs={str(state): int(count) for state, count in sorted(jobs.items())},
        feedback=int(feedback or 0),
    )


def _has_feedback(connection: Any) -> bool:
    """The feedback table came with revision 0005: a database behind it has none to count."""
    from sqlalchemy import inspect

    return bool(inspect(connection).has_table("feedback"))


def _as_datetime(value: Any) -> datetime | None:
    """min/max keep the column's UTC type on every dialect; this only guards a driver that hands
    back text or a naive value."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def render_status(status: DatabaseStatus, *, retention_days: float | None) -> list[str]:
    """The lines ``capsight db status`` prints."""
    lines = [f"database:        {status.url}"]
    if not status.exists:
        return [
            *lines,
            "schema:          no database file yet (created by `capsight db upgrade` or at start-up)",
        ]
    schema = status.schema
    assert schema is not None
    current = ", ".join(schema.current) or "none"
    verdict = {
        "current": f"{current} (this release's head)",
        "behind": f"{current}, behind this release's {schema.head}: run `capsight db upgrade`",
        "newer": f"{current}, newer than this release knows (a newer release migrated it; used as is)",
        "empty": f"empty, no tables yet: run `capsight db upgrade` (this release: {schema.head})",
    }[schema.verdict]
    lines.append(f"schema:          {verdict}")
    if schema.verdict == "empty":
        return lines
    span = ""
    if status.oldest_request and status.newest_request:
        oldest, newest = status.oldest_request, status.newest_request
        span = f" (oldest {oldest:%Y-%m-%d %H:%M} UTC, newest {newest:%Y-%m-%d %H:%M} UTC)"
    lines.append(f"requests:        {status.requests:,}{span}")
    lines.append(f"classifications: {status.classifications:,}")
    lines.append(f"api keys:        {status.api_keys_active} active, {status.api_keys_revoked} revoked")
    jobs = ", ".join(f"{state} {count}" for state, count in status.jobs.items()) or "none"
    lines.append(f"jobs:            {jobs}")
    lines.append(f"feedback:        {status.feedback:,} (`capsight feedback export`)")
    kept = (
        f"{retention_days:g} days (`capsight db purge`)"
        if retention_days
        else "for ever (CAPSIGHT_RETENTION_DAYS unset)"
    )
    lines.append(f"retention:       {kept}")
    return lines
