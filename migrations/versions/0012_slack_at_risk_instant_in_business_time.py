"""slack in business time: the instant after which an order's finish leaves too little slack

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:15:00.000000

Left empty here: each open order's first reconciliation stores it (``app/consistency.py`` reads
the work of an order that has none, however the sweep reached it), in its policy's calendars.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.columns

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("at_risk_from", app.columns.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.drop_column("at_risk_from")
