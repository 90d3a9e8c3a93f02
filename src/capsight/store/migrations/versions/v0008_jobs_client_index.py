"""An index for a key's job listing: ``jobs (client_id, created_at, id)``.

Why: ordinary API keys list their own jobs (``GET /v1/jobs``: ``client_id = ?``, newest first, a
page of 50), and with no index on the owner every listing read the whole table and sorted it
(100,000 jobs of 20 clients: 11-19 ms a page on SQLite, 33-40 ms on PostgreSQL, growing with the
table; 1.0-1.5 ms on both with it). With ``id`` last the index
gives the listing's whole order (``created_at DESC, id DESC``), so a page reads its 50 rows and
sorts nothing; the ``before`` cursor is a range on it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_jobs_client_created", "jobs", ["client_id", "created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_client_created", table_name="jobs")
