"""Expected completion of a customer order: the critical path through its work (pure computation).

Completed work counts at its actual end, dropped work not at all; open activities finish at their
expected (or planned) end, pushed later by any predecessor that slips and by any party order they
wait on that delivers after their planned start; open work of other kinds (party orders) counts at
the end it reports. ``app/consistency.py`` stores the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from app.orders import states
from app.orders.work import ActivityRow, WorkUnit
from app.party_orders import states as party_states


def delivery(party_order: Any, needed_by: datetime | None = None) -> datetime | None:
    """When a party order delivers, as an activity waiting on it sees it: delivered ones when they did,
    open ones at their expected (else committed, else needed-by) date; dropped ones never (they hold nothing).
    ``needed_by``: its needed-by date just settled, if it moved."""
    po = party_order
    needed = needed_by or po.needed_by
    if po.state in party_states.DROPPED:
        return None
    if po.state in party_states.DONE:
        return po.delivered_at or po.expected_delivery or po.committed_delivery or needed
    return po.expected_delivery or po.committed_delivery or needed


def deliveries(
    waits: Mapping[int, Sequence[int]], party_orders: Iterable[Any], needed_by: Mapping[int, datetime] | None = None
) -> dict[int, list[datetime]]:
    """Activity id -> when the live party orders it waits on deliver (``waits``: activity -> party order ids;
    ``party_orders``: rows with id, state and the delivery dates; ``needed_by``: needed-by dates just settled)."""
    moved = needed_by or {}
    when = {po.id: d for po in party_orders if (d := delivery(po, moved.get(po.id))) is not None}
    found: dict[int, list[datetime]] = {}
    for activity_id, ids in waits.items():
        ends = [when[i] for i in ids if i in when]
        if ends:
            found[activity_id] = ends
    return found


def activity_finishes(
    activities: Iterable[ActivityRow],
    preds: Mapping[int, Sequence[int]],
    waits: Mapping[int, Sequence[datetime]] | None = None,
) -> dict[int, datetime]:
    """When each live (not dropped) activity finishes: completed ones at their actual end, others as planned or expected
    (``waits``: activity id -> when the party orders it waits on deliver, see ``deliveries``)."""
    waits = waits or {}
    live = {a.id: a for a in activities if a.state not in states.WORK_DROPPED and a.id is not None}
    finish: dict[int, datetime] = {}

    def visit(activity_id: int, path: frozenset[int]) -> datetime | None:
        if activity_id in finish:
            return finish[activity_id]
        a = live.get(activity_id)
        if a is None or activity_id in path:  # dropped predecessor, or a cycle the API refuses anyway
            return None
        if a.state in states.WORK_DONE:
            finish[activity_id] = a.actual_end or a.planned_end
            return finish[activity_id]
        own_end = a.expected_end or a.planned_end
        start = a.actual_start or a.planned_start
        pred_ends = [e for p in preds.get(activity_id, ()) if (e := visit(p, path | {activity_id})) is not None]
        pred_ends += waits.get(activity_id, ())
        if pred_ends and max(pred_ends) > start and a.actual_start is None:
            own_end = max(own_end, max(pred_ends) + (a.planned_end - a.planned_start))
        finish[activity_id] = own_end
        return own_end

    for activity_id in live:
        visit(activity_id, frozenset())
    return finish


def expected_completion(
    activities: Iterable[ActivityRow],
    preds: Mapping[int, Sequence[int]],
    other_work: Iterable[WorkUnit],
    waits: Mapping[int, Sequence[datetime]] | None = None,
) -> datetime | None:
    """The latest end over the order's work: activities by critical path, other kinds by their own dates."""
    ends = list(activity_finishes(activities, preds, waits).values())
    for unit in other_work:
        if unit.kind == "activity" or unit.dropped:
            continue
        end = unit.actual_end if unit.done else unit.expected_end
        if end is not None:
            ends.append(end)
    return max(ends) if ends else None
