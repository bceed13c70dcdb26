"""What closed work teaches: how long each kind of activity takes against its plan, per work group,
and how reliably each party delivers by its committed date.

Each is one indexed query over the most recent closed cases (``ix_activity_kind_group_done``,
``ix_party_order_party_delivered``), at most ``history`` rows, measured in the calendar of whoever
did the work: reading the statistics never scans all history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calendars.calendar import BusinessCalendar
from app.forecast.simulate import History
from app.orders.models import Activity
from app.party_orders.models import PartyOrder

DONE_ACTIVITY = "completed"


async def activity_history(
    session: AsyncSession, kind: str, work_group: str | None, calendar: BusinessCalendar, limit: int
) -> History:
    """Actual over planned working time of the latest completed activities of this kind and work group."""
    a: Any = Activity.__table__.c  # type: ignore[attr-defined]  # the table's columns, typed by SQLAlchemy not the model
    group = a.work_group.is_(None) if work_group is None else a.work_group == work_group
    rows = await session.execute(
        select(a.planned_start, a.planned_end, a.actual_start, a.actual_end)
        .where(a.kind == kind, group, a.actual_end.is_not(None), a.actual_start.is_not(None), a.state == DONE_ACTIVITY)
        .order_by(a.actual_end.desc())
        .limit(limit)
    )
    factors = []
    for ps, pe, start, end in rows:
        plan = calendar.between(ps, pe)
        if plan > 0:
            factors.append(calendar.between(start, end) / plan)
    return History(tuple(factors), sum(1 for f in factors if f > 1.0))


async def party_history(session: AsyncSession, party_id: int, calendar: BusinessCalendar, limit: int) -> History:
    """Working seconds between committed date and delivery (negative: early) of the party's latest deliveries."""
    po: Any = PartyOrder.__table__.c  # type: ignore[attr-defined]  # the table's columns, typed by SQLAlchemy not the model
    rows = await session.execute(
        select(po.committed_delivery, po.delivered_at)
        .where(po.party_id == party_id, po.delivered_at.is_not(None), po.committed_delivery.is_not(None))
        .order_by(po.delivered_at.desc())
        .limit(limit)
    )
    slips = [calendar.between(committed, delivered) for committed, delivered in rows]
    return History(tuple(slips), sum(1 for s in slips if s > 0))


@dataclass(frozen=True)
class DeliveryStats:
    on_time_rate: float | None  # None: no delivery yet
    mean_slip_hours: float | None  # working hours past the committed date, on average (negative: early)
    samples: int


def delivery_stats(history: History) -> DeliveryStats:
    n = history.count
    if not n:
        return DeliveryStats(None, None, 0)
    return DeliveryStats((n - history.late) / n, sum(history.samples) / n / 3600, n)


@dataclass(frozen=True)
class DurationStats:
    kind: str
    work_group: str | None
    samples: int
    mean_factor: float | None  # actual over planned working time, on average
    p50_factor: float | None
    p90_factor: float | None
    late_rate: float | None  # share that took longer than planned


def duration_stats(kind: str, work_group: str | None, history: History) -> DurationStats:
    values = sorted(history.samples)
    if not values:
        return DurationStats(kind, work_group, 0, None, None, None, None)

    def rank(share: float) -> float:
        return values[max(int(-(-share * len(values) // 1)) - 1, 0)]

    return DurationStats(kind, work_group, len(values), sum(values) / len(values), rank(0.5), rank(0.9), history.late_rate)
