"""api token expiry and last use

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:00:00.000000

Tokens may expire (``expires_at``) and record when they were last used (``last_used_at``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", app.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
