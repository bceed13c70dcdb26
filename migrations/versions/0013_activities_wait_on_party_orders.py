"""activities that wait on party orders: an activity cannot start before a party order delivers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 05:45:00.000000

``activity_party_dependency`` links an activity to the party orders of its customer order it waits
on, as ``activity_dependency`` links it to its predecessors. Existing activities wait on none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_party_dependency",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("party_order_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["activity_id"], ["activity.id"]),
        sa.ForeignKeyConstraint(["party_order_id"], ["party_order.id"]),
        sa.PrimaryKeyConstraint("activity_id", "party_order_id"),
    )
    with op.batch_alter_table("activity_party_dependency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_party_dependency_party_order_id"), ["party_order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("activity_party_dependency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_party_dependency_party_order_id"))
    op.drop_table("activity_party_dependency")
