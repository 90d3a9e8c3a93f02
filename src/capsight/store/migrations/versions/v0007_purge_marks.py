"""Purge marks: how far back the request log has been purged (by hand or by retention).

Why: ``capsight db purge --older-than-days N`` with N under CAPSIGHT_RETENTION_DAYS (or with no
retention) deleted answers the feedback route still took for "not logged yet": feedback on them was
answered 202 and never matched. The route compares a request id's time with the newest mark.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purge_marks",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("purged_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purge_marks")),
    )


def downgrade() -> None:
    op.drop_table("purge_marks")
