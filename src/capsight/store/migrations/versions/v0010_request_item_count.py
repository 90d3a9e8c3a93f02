"""Requests: how many images a request had (``item_count``), a batch's as it was answered.

Why: a batch's images are logged one row each, in the background, and nothing said how many the
batch had: ``POST /v1/feedback`` on an index the batch never had (a client's typo) could not be told
from one not logged yet, was answered 202 "usable for training", and the export then counted it
unmatched. Nullable: requests logged before it (and single-image ones) keep no count, and feedback on
them is matched at export as before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("item_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("item_count")
