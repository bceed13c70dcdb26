"""Business calendars: working time added and measured, checked against hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from app.calendars.book import parse_calendars
from app.errors import InvalidInput
from app.jeopardy.policy import cutoff, parse_policy

HOUR = 3600.0
OFFICE = {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00"}
BOOK = parse_calendars(
    {
        "default": {**OFFICE, "holidays": {"country": "GB", "subdivision": "ENG"}, "dates": ["2026-12-24"]},
        "parties": {"FibreCo": {"timezone": "Europe/Berlin", "holidays": {"country": "DE", "subdivision": "BE"}}},
        "work_groups": {"field-ops": {"days": ["mon", "tue", "wed", "thu", "fri", "sat"]}},
    }
)
LONDON = BOOK.default


def utc(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_four_hours_from_friday_afternoon_end_on_monday_morning() -> None:
    assert LONDON.add(utc(2026, 12, 4, 15), 4 * HOUR) == utc(2026, 12, 7, 11)  # Fri 15:00 + 2h Fri + 2h Mon
    assert LONDON.between(utc(2026, 12, 4, 15), utc(2026, 12, 7, 11)) == 4 * HOUR


def test_work_ends_at_closing_time_not_the_next_morning() -> None:
    assert LONDON.add(utc(2026, 12, 7, 9), 8 * HOUR) == utc(2026, 12, 7, 17)


def test_going_back_four_business_hours_from_monday_lands_on_friday() -> None:
    assert LONDON.add(utc(2026, 12, 7, 10), -4 * HOUR) == utc(2026, 12, 4, 14)
    assert LONDON.between(utc(2026, 12, 7, 10), utc(2026, 12, 4, 14)) == -4 * HOUR


def test_a_duration_spanning_christmas_skips_the_holidays() -> None:
    # Wed 23 Dec 16:00: 1h left; 24 Dec is an explicit holiday, 25 Dec Christmas, 26-27 the weekend,
    # 28 Dec Boxing Day (observed); so the other 2h are on Tue 29 Dec.
    assert LONDON.add(utc(2026, 12, 23, 16), 3 * HOUR) == utc(2026, 12, 29, 11)
    assert LONDON.between(utc(2026, 12, 23, 0), utc(2026, 12, 30, 0)) == 2 * 8 * HOUR  # Wed 23 and Tue 29


def test_new_year_is_crossed() -> None:
    # Thu 31 Dec 16:00: 1h; Fri 1 Jan is a holiday; Mon 4 Jan 09:00 + 1h.
    assert LONDON.add(utc(2026, 12, 31, 16), 2 * HOUR) == utc(2027, 1, 4, 10)
    assert LONDON.between(utc(2026, 12, 31, 16), utc(2027, 1, 4, 10)) == 2 * HOUR


def test_a_party_in_berlin_works_berlin_hours_through_the_clock_change() -> None:
    fibreco = BOOK.for_party("FibreCo")
    assert fibreco.between(utc(2026, 12, 7, 7), utc(2026, 12, 7, 12)) == 4 * HOUR  # 09:00 CET is 08:00 UTC
    # Fri 29 Oct 2027 16:00 CEST (14:00 UTC) + 2h: 1h on Friday, then Mon 1 Nov 09:00 CET (08:00 UTC) + 1h.
    assert fibreco.add(utc(2027, 10, 29, 14), 2 * HOUR) == utc(2027, 11, 1, 9)
    # Thu 25 Mar 2027 16:00 CET + 2h: Good Friday and Easter Monday are German holidays, and the
    # clocks go forward on the Sunday: Tue 30 Mar 09:00 CEST (07:00 UTC) + 1h.
    assert fibreco.add(utc(2027, 3, 25, 15), 2 * HOUR) == utc(2027, 3, 30, 8)


def test_a_work_group_takes_what_it_leaves_out_from_the_default() -> None:
    field_ops = BOOK.for_work_group("field-ops")
    assert field_ops.add(utc(2026, 12, 4, 15), 4 * HOUR) == utc(2026, 12, 5, 11)  # it works on Saturday
    assert field_ops.add(utc(2026, 12, 23, 16), 2 * HOUR) == utc(2026, 12, 29, 10)  # Sat 26 Dec is Boxing Day in England
    assert BOOK.for_work_group("unknown") is LONDON


def test_without_calendars_time_is_wall_clock() -> None:
    always = parse_calendars(None).default
    assert always.add(utc(2026, 12, 5, 22), 5 * HOUR) == utc(2026, 12, 6, 3)


def test_business_after_in_a_rule_counts_working_time() -> None:
    policy = parse_policy(
        {
            "calendars": {"default": OFFICE},
            "rules": [{"name": "slow", "level": "atRisk", "after": "4 business hours", "escalate_to": 1}],
        }
    )
    rule = policy.rules[0]
    assert rule.business and rule.after == timedelta(hours=4)
    assert cutoff(policy.calendars.default, rule, utc(2026, 12, 7, 10)) == utc(2026, 12, 4, 14)
    two_days = parse_policy(
        {"calendars": {"default": OFFICE}, "rules": [{"level": "late", "after": "2 business days", "escalate_to": 1}]}
    )
    assert two_days.rules[0].after == timedelta(hours=16)


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"default": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"default": {"hours": "18:00-08:00"}}, "close after they open"),
        ({"default": {"days": ["someday"]}}, "days is a non-empty list"),
        ({"default": {"holidays": {"country": "XX"}}}, "no country 'XX'"),
        ({"default": {"dates": ["24 Dec"]}}, "ISO dates"),
        ({"default": {"weekends": True}}, "unknown keys weekends"),
    ],
)
def test_a_wrong_calendar_is_refused_naming_the_spot(section: dict[str, object], says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        parse_calendars(section, "my policy")


instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(start=instants, hours=st.floats(min_value=0.01, max_value=2000))
def test_adding_working_time_then_measuring_it_gives_it_back(start: datetime, hours: float) -> None:
    end = LONDON.add(start, hours * HOUR)
    assert end > start
    assert LONDON.between(start, end) == pytest.approx(hours * HOUR, abs=1e-3)
    # Going back lands at the same point of working time (the start of its working hours, when
    # ``start`` was outside them).
    assert LONDON.between(LONDON.add(end, -hours * HOUR), start) == pytest.approx(0, abs=1e-3)


@pytest.mark.parametrize(
    ("policy", "says"),
    [
        ({"at_risk_probability": 1.5}, "at_risk_probability must be a number above 0"),
        ({"forecast": {"draws": 0}}, "forecast draws"),
        ({"forecast": {"refresh": "soon"}}, "not a duration"),
        ({"forecast": {"samples": 3}}, "forecast has draws"),
        ({"rules": [{"level": "late", "after": "4 business weeks", "escalate_to": 1}]}, "not a duration"),
    ],
)
def test_a_wrong_forecast_setting_is_refused_naming_it(policy: dict[str, object], says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        parse_policy(policy, "my policy")


@settings(max_examples=40, deadline=None)
@given(
    starts=st.lists(instants, min_size=1, max_size=30),
    hours=st.lists(st.floats(min_value=-300, max_value=3000), min_size=30, max_size=30),
)
# A vanishing amount at the new year, where the arrays' sums over years once lost it (hypothesis found it).
@example(starts=[datetime(2026, 1, 1, tzinfo=UTC)], hours=[5e-324] * 30)
def test_adding_to_many_instants_at_once_agrees_with_adding_to_each(starts: list[datetime], hours: list[float]) -> None:
    """The forecast adds working time to all its draws at once; the answer is the one instant by instant."""
    for calendar in (LONDON, BOOK.for_party("FibreCo")):
        t = np.array([s.timestamp() for s in starts])
        seconds = np.array(hours[: len(starts)]) * HOUR
        at_once = calendar.add_epochs(t, seconds)
        assert at_once.tolist() == pytest.approx(
            [calendar.add_epoch(a, b) for a, b in zip(t.tolist(), seconds.tolist())], abs=1e-3
        )


def test_a_policy_is_known_again_by_its_digest_and_any_change_gives_another() -> None:
    # The sweep mark keeps the digest of the policy the open orders were settled under.
    shipped = {"at_risk_slack": 0.2, "calendars": {"default": {**OFFICE}}, "rules": []}
    assert parse_policy(shipped).digest == parse_policy(dict(reversed(list(shipped.items())))).digest
    assert parse_policy(shipped).digest != parse_policy({**shipped, "at_risk_slack": 0.3}).digest
    assert (
        parse_policy(shipped).digest
        != parse_policy({**shipped, "calendars": {"default": {**OFFICE, "hours": "08:00-18:00"}}}).digest
    )
    assert parse_policy({**shipped, 7: "a key of another kind"}).digest  # still a digest, not an error
