"""amendment: order revisions, party order revisions, service order supplements

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:00:00.000000

An amendment of a customer order in flight is a new revision of it (``customer_order.revision``);
a party order whose lines it changed gets a revision the party acknowledges or rejects
(``party_order.revision``, ``party_order_revision``); a service order request of an amended item
gets a supplement (``service_order_request.supplement``). Existing rows are revision 0.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("party_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("service_order_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supplement", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "party_order_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_order_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("order_revision", sa.Integer(), nullable=False),
        sa.Column("lines", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("change_request_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["customer_order.id"],
        ),
        sa.ForeignKeyConstraint(
            ["party_order_id"],
            ["party_order.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("party_order_id", "revision", name="uq_party_order_revision"),
    )
    with op.batch_alter_table("party_order_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_order_revision_party_order_id"), ["party_order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("party_order_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_order_revision_party_order_id"))
    op.drop_table("party_order_revision")
    with op.batch_alter_table("service_order_request", schema=None) as batch_op:
        batch_op.drop_column("supplement")
    with op.batch_alter_table("party_order", schema=None) as batch_op:
        batch_op.drop_column("revision")
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.drop_column("revision")
