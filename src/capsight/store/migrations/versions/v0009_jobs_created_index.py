"""An index for an admin's job listing: ``jobs (created_at, id)``.

Why: an admin's ``GET /v1/jobs`` (every client's jobs, newest first, a page at a time: what an
operator's dashboard polls) read the whole table and sorted it, as a key's listing did before 0008:
100,000 jobs took 64-88 ms a page on SQLite, 41-47 ms on PostgreSQL (1.0-1.7 ms with it, the next
pages' too). The index gives the listing's order (``created_at DESC, id DESC``), so a page reads
its rows and sorts nothing; a state filter is left to ``ix_jobs_state`` where that reads fewer.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_jobs_created", "jobs", ["created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_created", table_name="jobs")
