"""What closed work teaches: how long each kind of activity takes against its plan, per work group,
and how reliably each party delivers by its committed date.

Each is one indexed query over the most recent closed cases (``ix_activity_kind_group_done``, a
partial index of the completed activities, and ``ix_party_order_party_delivered``), read backwards
to at most ``history`` rows, measured in the calendar of whoever did the work: reading the
statistics never scans or sorts all history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calendars.calendar import BusinessCalendar
from app.forecast.simulate import History
from app.orders.models import DONE_HISTORY, Activity
from app.party_orders.models import PartyOrder


def activity_history_query(kind: str, work_group: str | None, limit: int) -> Select[Any]:
    """The latest completed activities of this kind and work group, newest first, from the partial index."""
    a: Any = Activity.__table__.c  # type: ignore[attr-defined]  # the table's columns, typed by SQLAlchemy not the model
    group = a.work_group.is_(None) if work_group is None else a.work_group == work_group
    return (
        select(a.planned_start, a.planned_end, a.actual_start, a.actual_end)
        # the partial index's own predicate, as literals: a bound state would not match it
        .where(a.kind == kind, group, text(DONE_HISTORY))
        .order_by(a.actual_end.desc())
        .limit(limit)
    )


async def activity_history(
    session: AsyncSession, kind: str, work_group: str | None, calendar: BusinessCalendar, limit: int
) -> History:
    """Actual over planned working time of the latest completed activities of this kind and work group."""
    rows = await session.execute(activity_history_query(kind, work_group, limit))
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
