"""sweep mark: the policy the open orders were last settled under

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:10:00.000000

Null on an upgraded database: the first sweep after the upgrade settles every open order once under
the policy in force, and records it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jeopardy_sweep_mark", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_digest", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jeopardy_sweep_mark", schema=None) as batch_op:
        batch_op.drop_column("policy_digest")
