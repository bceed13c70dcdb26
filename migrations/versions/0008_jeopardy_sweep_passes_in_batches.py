"""jeopardy sweep: the progress of a pass in batches

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00.000000

A sweep works in batches, each its own transaction; the mark keeps how far the pass in progress has
come, so a crash or a new leader between batches resumes it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null: no pass in progress (also for a mark written before this revision).
    with op.batch_alter_table("jeopardy_sweep_mark", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pass_last_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("pass_order_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jeopardy_sweep_mark", schema=None) as batch_op:
        batch_op.drop_column("pass_order_id")
        batch_op.drop_column("pass_last_seq")
