"""Reading learned statistics for the API: a party's delivery record, an activity kind's durations."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.forecast import learning
from app.jeopardy.policy import Policy
from app.party_orders.models import Party


async def party_delivery_stats(session: AsyncSession, party: Party, policy: Policy) -> learning.DeliveryStats:
    assert party.id is not None
    calendar = policy.calendars.for_party(party.name)
    return learning.delivery_stats(await learning.party_history(session, party.id, calendar, policy.forecast.history))


async def activity_duration_stats(
    session: AsyncSession, kind: str, work_group: str | None, policy: Policy
) -> learning.DurationStats:
    calendar = policy.calendars.for_work_group(work_group)
    history = await learning.activity_history(session, kind, work_group, calendar, policy.forecast.history)
    return learning.duration_stats(kind, work_group, history)
