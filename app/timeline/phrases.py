"""The words timeline sentences are made of: dates ("3 Dec"), how a date moved, changed fields as
phrases, states in words, quotes. Knows nothing of GraphQL, HTTP or the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.event_visibility import EventLike

STATE_WORDS = {
    "inProgress": "in progress",
    "pendingCancellation": "pending cancellation",
    "assessingCancellation": "being assessed for cancellation",
    "held": "on hold",
}
FIELD_WORDS = {
    "committed_date": "committed date",
    "customer_name": "customer name",
    "needed_by": "needed-by date",
    "party_ref": "party reference",
    "committed_delivery": "committed delivery",
    "expected_delivery": "expected delivery",
    "percent_complete": "progress",
    "planned_start": "planned start",
    "planned_end": "planned end",
    "actual_start": "actual start",
    "actual_end": "actual end",
    "expected_end": "expected end",
    "work_group": "work group",
    "predecessor_ids": "predecessors",
    "waits_on_party_order_ids": "waits on party orders",
    "expected_completion": "expected completion",
}
QUIET_FIELDS = {"version", "updated_at", "state", "contacts", "characteristics"}  # told otherwise, or too long for a line


def state_words(value: Any) -> str:
    return STATE_WORDS.get(str(value), str(value)) if value is not None else "unknown"


def instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _day(value: datetime, year: int | None, with_time: bool) -> str:
    text = f"{value.day} {value:%b}"
    if year is not None and value.year != year:
        text += f" {value.year}"
    return f"{text} {value:%H:%M}" if with_time else text


def when(value: Any, year: int | None = None, other: Any = None) -> str:
    """A date as "3 Dec" (the year only when it is not ``year``), with the time when ``other`` falls on the same day."""
    moment = instant(value)
    if moment is None:
        return "no date" if value is None else str(value)
    peer = instant(other)
    return _day(moment, year, peer is not None and peer.date() == moment.date())


def moved(before: Any, after: Any, year: int | None) -> str:
    """How a date changed: "from 3 Dec to 5 Dec", "to 5 Dec" (was unset), "cleared"."""
    if after is None:
        return "cleared"
    if before is None:
        return f"set to {when(after, year)}"
    return f"from {when(before, year, after)} to {when(after, year, before)}"


def _value(name: str, value: Any, year: int) -> str:
    if instant(value) is not None:
        return when(value, year)
    if name == "percent_complete" and value is not None:
        return f"{value}%"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return "none" if value is None or value == "" else str(value)


def changes(event: EventLike, skip: frozenset[str] = frozenset()) -> str:
    """The changed fields of an event as phrases: "planned end moved from 3 Dec to 5 Dec, assignee bob"."""
    before, after = change_sets(event)
    year = event.at.year
    phrases = []
    for name, new in after.items():
        if name in QUIET_FIELDS or name in skip:
            continue
        old = before.get(name)
        label = FIELD_WORDS.get(name, name.replace("_", " "))
        if instant(new) is not None or instant(old) is not None:
            phrases.append(f"{label} {'moved ' if old is not None and new is not None else ''}{moved(old, new, year)}")
        elif old is None:
            phrases.append(f"{label} {_value(name, new, year)}")
        else:
            phrases.append(f"{label} {_value(name, old, year)} → {_value(name, new, year)}")
    return ", ".join(phrases)


def change_sets(event: EventLike) -> tuple[dict[str, Any], dict[str, Any]]:
    data = event.data or {}
    before, after = data.get("before"), data.get("after")
    return (before if isinstance(before, dict) else {}), (after if isinstance(after, dict) else {})


def extra(event: EventLike, name: str) -> Any:
    return (event.data or {}).get(name)


def because(reason: Any) -> str:
    return f": {reason}" if reason else ""


def quote(text: Any, limit: int = 80) -> str:
    text = " ".join(str(text or "").split())
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"
