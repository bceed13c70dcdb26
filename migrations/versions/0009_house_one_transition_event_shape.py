"""events: an activity's state change keeps its reason beside before/after, as every other state change does

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:00:00.000000

Every state change is recorded in one shape (``app/state_machine.py`` ``StateMachine.transition``):
``before: {state}``, ``after: {state}``, the reason in the event's data. ``activityStateChanged``
events written before kept the reason inside ``after``; this moves it out, so timelines (``details``),
webhooks and partners' views read one shape whatever the event's age. Nothing else of the log changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT = sa.table(
    "event",
    sa.column("seq", sa.BigInteger()),
    sa.column("type", sa.String()),
    sa.column("data", sa.JSON().with_variant(JSONB(), "postgresql")),
)


def _rewrite(move: str) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(EVENT.c.seq, EVENT.c.data).where(EVENT.c.type == "activityStateChanged")).all()
    for seq, data in rows:
        after = dict(data.get("after") or {})
        if move == "out" and "reason" in after:
            new = {**data, "after": {k: v for k, v in after.items() if k != "reason"}, "reason": after["reason"]}
        elif move == "in" and "reason" in data:
            new = {k: v for k, v in data.items() if k != "reason"}
            new["after"] = {**after, "reason": data["reason"]}
        else:
            continue
        bind.execute(sa.update(EVENT).where(EVENT.c.seq == seq).values(data=new))


def upgrade() -> None:
    _rewrite("out")


def downgrade() -> None:
    _rewrite("in")
