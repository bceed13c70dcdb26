"""Forecast queries: learned activity durations (staff)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app import validation as v
from app.forecast import queries
from app.forecast.graphql import types
from app.graphql.permissions import Staff
from app.jeopardy import policy


@strawberry.type
class ForecastQuery:
    @strawberry.field(
        permission_classes=[Staff],
        description="How long completed activities of a kind (and work group; null: none) took against plan, in business time.",
    )
    async def activity_duration_stats(self, info: Info, kind: str, work_group: str | None = None) -> types.ActivityDurationStats:
        kind = v.required_text(kind, "kind", max_len=64)
        work_group = v.text(work_group, "workGroup", max_len=128)
        async with info.context.db.read() as session:
            stats = await queries.activity_duration_stats(session, kind, work_group, policy.active())
        return types.ActivityDurationStats.of(stats)
