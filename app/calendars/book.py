"""Which calendar each party and work group works by, read from the policy file's ``calendars``.

    calendars:
      default: {timezone: Europe/London, days: [mon, tue, wed, thu, fri], hours: "08:00-18:00",
                holidays: {country: GB, subdivision: ENG}, dates: ["2026-12-24"]}
      work_groups:
        field-ops: {hours: "07:00-19:00", days: [mon, tue, wed, thu, fri, sat]}
      parties:
        FibreCo: {timezone: Europe/Berlin, holidays: {country: DE, subdivision: BE}}

A work group's or party's calendar takes what it leaves out from the default; without a
``calendars`` section every calendar is wall-clock time (every hour of every day).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from functools import lru_cache, partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as public_holidays

from app.calendars.calendar import ALWAYS, WEEKDAYS, BusinessCalendar
from app.errors import InvalidInput

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_KEYS = {"timezone", "days", "hours", "holidays", "dates"}


@dataclass(frozen=True)
class CalendarBook:
    """The calendars in force: a default, and one per work group and per party (by name) that has its own."""

    default: BusinessCalendar = ALWAYS
    work_groups: dict[str, BusinessCalendar] = field(default_factory=dict)
    parties: dict[str, BusinessCalendar] = field(default_factory=dict)

    def for_work_group(self, name: str | None) -> BusinessCalendar:
        return self.work_groups.get(name or "", self.default)

    def for_party(self, name: str | None) -> BusinessCalendar:
        return self.parties.get(name or "", self.default)

    @property
    def parties_on_wall_clock(self) -> bool:
        """Every party works wall-clock time (so a reporting interval is plain hours)."""
        return self.default.wall_clock and all(c.wall_clock for c in self.parties.values())


@lru_cache(maxsize=256)
def _public(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(public_holidays.country_holidays(country, subdiv=subdivision, years=year))


def _holiday_source(raw: Any, where: str) -> tuple[str, str | None] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("country"), str) or set(raw) - {"country", "subdivision"}:
        raise InvalidInput(f"{where}: holidays is {{country: XX, subdivision: YY}} (subdivision optional).", field="calendars")
    country, subdivision = raw["country"], raw.get("subdivision")
    try:
        public_holidays.country_holidays(country, subdiv=subdivision, years=2026)
    except NotImplementedError as exc:
        raise InvalidInput(f"{where}: the holidays package knows no country '{country}'.", field="calendars") from exc
    except ValueError as exc:  # an unknown subdivision
        raise InvalidInput(f"{where}: {exc}", field="calendars") from exc
    return country, subdivision


def _calendar(name: str, raw: Any, base: dict[str, Any], where: str) -> tuple[BusinessCalendar, dict[str, Any]]:
    """The calendar ``raw`` describes (keys it leaves out come from ``base``), and its merged description."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where} must be a mapping.", field="calendars")
    if unknown := set(raw) - _KEYS:
        raise InvalidInput(
            f"{where}: unknown keys {', '.join(sorted(unknown))}; use {', '.join(sorted(_KEYS))}.", field="calendars"
        )
    spec = {**base, **raw}
    try:
        zone = ZoneInfo(str(spec.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"{where}: unknown time zone '{spec.get('timezone')}'.", field="calendars") from exc
    days_raw = spec.get("days", list(WEEKDAYS))
    if not isinstance(days_raw, list) or not days_raw or any(d not in WEEKDAYS for d in days_raw):
        raise InvalidInput(f"{where}: days is a non-empty list of {', '.join(WEEKDAYS)}.", field="calendars")
    opens, closes = time(0), None
    if (hours := spec.get("hours")) is not None:
        m = _HOURS.match(str(hours))
        if not m or int(m.group(1)) > 23 or int(m.group(3)) > 24 or int(m.group(2)) > 59 or int(m.group(4)) > 59:
            raise InvalidInput(f'{where}: hours is like "08:00-18:00".', field="calendars")
        opens = time(int(m.group(1)), int(m.group(2)))
        closes = None if int(m.group(3)) == 24 else time(int(m.group(3)), int(m.group(4)))
        if closes is not None and closes <= opens:
            raise InvalidInput(f"{where}: working hours must close after they open.", field="calendars")
    try:
        dates = frozenset(d if isinstance(d, date) else date.fromisoformat(str(d)) for d in spec.get("dates") or [])
    except ValueError as exc:
        raise InvalidInput(f"{where}: dates are ISO dates like 2026-12-24.", field="calendars") from exc
    source = _holiday_source(spec.get("holidays"), where)
    calendar = BusinessCalendar(
        name=name,
        zone=zone,
        days=frozenset(WEEKDAYS.index(d) for d in days_raw),
        opens=opens,
        closes=closes,
        dates=dates,
    )
    if source is not None:
        country, subdivision = source
        calendar.public_holidays = partial(_public, country, subdivision)  # not a lambda: calendars go to worker processes
    return calendar, spec


def parse_calendars(data: Any, source: str = "policy") -> CalendarBook:
    """The ``calendars`` section of a policy; every mistake is INVALID_INPUT naming the spot."""
    if data is None:
        return CalendarBook()
    if not isinstance(data, dict) or set(data) - {"default", "work_groups", "parties"}:
        raise InvalidInput(f"{source}: calendars has default, work_groups and parties.", field="calendars")
    default, base = _calendar("default", data.get("default") or {}, {}, f"{source} calendars default")
    named: dict[str, dict[str, BusinessCalendar]] = {"work_groups": {}, "parties": {}}
    for section, found in named.items():
        entries = data.get(section) or {}
        if not isinstance(entries, dict):
            raise InvalidInput(f"{source}: calendars {section} maps names to calendars.", field="calendars")
        for name, raw in entries.items():
            found[str(name)], _ = _calendar(str(name), raw, base, f"{source} calendars {section} {name}")
    return CalendarBook(default=default, work_groups=named["work_groups"], parties=named["parties"])
