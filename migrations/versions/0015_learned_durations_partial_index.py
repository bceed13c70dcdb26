"""learned durations: the history index holds only completed activities with both actual dates

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 15:40:00.000000

The history query (``forecast/learning.py``) reads the latest completed activities of a kind and
work group. Over every activity PostgreSQL misestimated how many were completed and sorted all of a
kind's history (~100 ms at 20,000 completed activities of one kind); over this partial index it
reads the newest ``history`` rows backwards and stops (0.4 ms).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DONE_HISTORY = "state = 'completed' AND actual_start IS NOT NULL AND actual_end IS NOT NULL"
COLUMNS = ["kind", "work_group", "actual_end"]


def upgrade() -> None:
    op.drop_index("ix_activity_kind_group_done", table_name="activity")
    op.create_index(
        "ix_activity_kind_group_done",
        "activity",
        COLUMNS,
        postgresql_where=sa.text(DONE_HISTORY),
        sqlite_where=sa.text(DONE_HISTORY),
    )


def downgrade() -> None:
    op.drop_index("ix_activity_kind_group_done", table_name="activity")
    op.create_index("ix_activity_kind_group_done", "activity", COLUMNS)
