"""party order needed-by date given by staff

Revision ID: 0007
Revises: 0004

Whether a party order's needed-by date was set by staff (earlier than its customer order's
committed date) or follows that date. Existing rows follow it unless they are earlier already.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("party_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("needed_by_given", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE party_order SET needed_by_given = (needed_by < "
        "(SELECT committed_date FROM customer_order WHERE customer_order.id = party_order.order_id))"
    )


def downgrade() -> None:
    with op.batch_alter_table("party_order", schema=None) as batch_op:
        batch_op.drop_column("needed_by_given")
