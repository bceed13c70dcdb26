"""Expected completion of a customer order: the critical path through its work (pure computation).

Completed work counts at its actual end, dropped work not at all; open activities finish at their
expected (or planned) end, pushed later by any predecessor that slips; open work of other kinds
(party orders) counts at the end it reports. ``app/consistency.py`` stores the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from app.orders import states
from app.orders.work import ActivityRow, WorkUnit


def activity_finishes(activities: Iterable[ActivityRow], preds: Mapping[int, Sequence[int]]) -> dict[int, datetime]:
    """When each live (not dropped) activity finishes: completed ones at their actual end, others as planned or expected."""
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
        if pred_ends and max(pred_ends) > start and a.actual_start is None:
            own_end = max(own_end, max(pred_ends) + (a.planned_end - a.planned_start))
        finish[activity_id] = own_end
        return own_end

    for activity_id in live:
        visit(activity_id, frozenset())
    return finish


def expected_completion(
    activities: Iterable[ActivityRow], preds: Mapping[int, Sequence[int]], other_work: Iterable[WorkUnit]
) -> datetime | None:
    """The latest end over the order's work: activities by critical path, other kinds by their own dates."""
    ends = list(activity_finishes(activities, preds).values())
    for unit in other_work:
        if unit.kind == "activity" or unit.dropped:
            continue
        end = unit.actual_end if unit.done else unit.expected_end
        if end is not None:
            ends.append(end)
    return max(ends) if ends else None
