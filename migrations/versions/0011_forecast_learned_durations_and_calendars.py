"""forecast: stored order forecasts, the forecast's marks on the order, indexes to learn from closed work

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.columns

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_forecast",
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("customer_order.id"), primary_key=True),
        sa.Column("completion_p50", app.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completion_p90", app.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("on_time_probability", sa.Float(), nullable=False),
        sa.Column("basis", sa.String(length=500), nullable=False),
        sa.Column("critical_path", app.columns.JSONType, nullable=False),
        sa.Column("party_orders", app.columns.JSONType, nullable=False),
        sa.Column("computed_at", app.columns.UTCDateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forecast_key", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("forecast_due_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("forecast_on_time", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("forecast_summary", sa.String(length=500), nullable=True))
    op.create_index("ix_activity_kind_group_done", "activity", ["kind", "work_group", "actual_end"])
    op.create_index("ix_party_order_party_delivered", "party_order", ["party_id", "delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_party_order_party_delivered", table_name="party_order")
    op.drop_index("ix_activity_kind_group_done", table_name="activity")
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.drop_column("forecast_summary")
        batch_op.drop_column("forecast_on_time")
        batch_op.drop_column("forecast_due_at")
        batch_op.drop_column("forecast_key")
    op.drop_table("order_forecast")
