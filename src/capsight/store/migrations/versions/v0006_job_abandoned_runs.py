"""Jobs: how many runs of a job ended with its server gone (killed, crashed) before it finished.

Why: recovery put such a job back in the queue every time, so a job that brings its server down
(memory, a decoder crash) was started again at every restart, and took the server down again, for
ever. The count lets recovery fail it after a few such runs instead.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("abandoned_runs", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("abandoned_runs")
