"""The slack rule's instant, in the working time of whoever does the order's last work (pure computation).

An open order is at risk when the time left between its finish (its expected completion, or now
once that has passed) and its committed date is less than ``at_risk_slack`` of the time between
request and committed date, both measured in one calendar: that of the open work that finishes
last (an activity's work group, a party order's party; the default calendar for other work or
none). Working time left only shrinks as the finish moves later, so the rule holds exactly when
the finish is after one instant, ``at_risk_from``: the reconciliation computes it where the
calendars are and stores it on the order, and the set-based rule (``rules.customer_order_rule``)
compares the finish and ``now`` with the stored instant. On wall-clock time it is
``committed - share * (committed - requested)``, the rule as it was in plain elapsed time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from app.calendars.book import CalendarBook
from app.calendars.calendar import BusinessCalendar
from app.orders import schedule, states
from app.orders.work import WorkUnit

PARTY_ORDER = "partyOrder"


def at_risk_from(calendar: BusinessCalendar, requested: datetime, committed: datetime, share: float) -> datetime:
    """The latest finish that still leaves ``share`` of the request->committed window, in ``calendar``'s working time.

    Going back from the committed date lands at the start of a working interval rather than the end
    of the one before, so a finish inside the gap between them (a weekend) still leaves enough.
    """
    if calendar.wall_clock:
        return committed - (committed - requested) * share
    return calendar.add(committed, -calendar.between(requested, committed) * share)


def last_worker(
    book: CalendarBook,
    activities: Sequence[Any],
    preds: Mapping[int, Sequence[int]],
    units: Iterable[WorkUnit],
    party_names: Mapping[int, str | None],
    waits: Mapping[int, Sequence[datetime]] | None = None,
) -> BusinessCalendar:
    """The calendar of the open work that finishes last (``party_names``: party order id -> its party's name;
    ``waits``: as ``schedule.activity_finishes`` reads them)."""
    finishes = schedule.activity_finishes(activities, preds, waits)
    last: tuple[datetime, BusinessCalendar] | None = None
    for a in activities:
        if a.state in states.WORK_DONE or a.state in states.WORK_DROPPED or a.id not in finishes:
            continue
        if last is None or finishes[a.id] > last[0]:
            last = (finishes[a.id], book.for_work_group(a.work_group))
    for unit in units:
        if unit.kind == "activity" or not unit.open or unit.expected_end is None:
            continue
        if last is None or unit.expected_end > last[0]:
            calendar = book.for_party(party_names.get(unit.id)) if unit.kind == PARTY_ORDER else book.default
            last = (unit.expected_end, calendar)
    return last[1] if last is not None else book.default
