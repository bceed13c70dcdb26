"""The slack rule in the working time of whoever does the last work: the stored instant, and the level it flips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import assume, given, settings, strategies as st

from app.calendars.book import parse_calendars
from app.calendars.calendar import ALWAYS
from app.clock import FrozenClock
from app.db import Database
from app.jeopardy.policy import parse_policy
from app.jeopardy.slack import at_risk_from, last_worker
from app.orders.work import WorkUnit
from tests.api import Api
from tests.conftest import START, RestartUnder
from tests.factories import create_order, iso, schedule
from tests.jeopardy_support import alerts, levels, monitor

OFFICE = {"timezone": "Europe/London", "days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00"}
OFFICE_HOURS = parse_calendars({"default": OFFICE}).default
ORDER = "query($id: ID!) { customerOrder(id: $id) { jeopardyLevel jeopardyReason } }"

instants = st.integers(min_value=0, max_value=90 * 86400).map(lambda s: START + timedelta(seconds=s))
shares = st.floats(min_value=0.0, max_value=0.99)


def as_sql_did(requested: datetime, committed: datetime, expected: datetime | None, now: datetime, share: float) -> bool:
    """The slack rule as it was, in wall-clock epoch seconds, as the SQL computed it."""
    finish = expected.timestamp() if expected is not None and expected > now else now.timestamp()
    slack, window = committed.timestamp() - finish, committed.timestamp() - requested.timestamp()
    return slack < window * share


@settings(max_examples=300, deadline=None)
@given(instants, instants, st.none() | instants, instants, shares)
def test_on_wall_clock_time_the_stored_instant_gives_what_the_elapsed_time_arithmetic_gave(
    requested: datetime, committed: datetime, expected: datetime | None, now: datetime, share: float
) -> None:
    finish = expected if expected is not None and expected > now else now
    # A tie to the millisecond is decided by rounding either way (the SQL's floats, the instant's microseconds).
    assume(abs((committed - finish).total_seconds() - (committed - requested).total_seconds() * share) > 1e-3)
    stored = at_risk_from(ALWAYS, requested, committed, share)
    now_rule = (expected is not None and expected > stored) or stored < now  # as customer_order_rule asks it
    assert now_rule == as_sql_did(requested, committed, expected, now, share)


@settings(max_examples=300, deadline=None)
@given(instants, st.integers(min_value=1, max_value=60 * 86400), instants, shares)
def test_in_business_time_a_finish_after_the_instant_is_one_that_leaves_too_little_working_time(
    requested: datetime, window: int, finish: datetime, share: float
) -> None:
    committed = requested + timedelta(seconds=window)
    working_window = OFFICE_HOURS.between(requested, committed)
    left = OFFICE_HOURS.between(finish, committed)
    assume(abs(left - working_window * share) > 1e-3)
    assert (finish > at_risk_from(OFFICE_HOURS, requested, committed, share)) == (left < working_window * share)


def test_a_weekend_in_the_window_counts_for_nothing() -> None:
    # Mon 1 Mar 09:00 to Mon 15 Mar 13:00 (London is on GMT until 28 Mar): 10 working days and 4 hours,
    # 84 working hours; 20% is 16 h 48 min: Mon 09-13 (4 h), Fri (8 h), and Thu from 12:12.
    requested, committed = START, datetime(2027, 3, 15, 13, 0, tzinfo=UTC)
    assert at_risk_from(OFFICE_HOURS, requested, committed, 0.2) == datetime(2027, 3, 11, 12, 12, tzinfo=UTC)
    assert at_risk_from(ALWAYS, requested, committed, 0.2) == datetime(2027, 3, 12, 17, 0, tzinfo=UTC)  # 68 of 340 h


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_an_order_whose_last_work_is_done_in_office_hours_is_at_risk_when_its_working_slack_runs_short(
    staff: Api, db: Database, clock: FrozenClock, restart_under: RestartUnder
) -> None:
    used = parse_policy({"at_risk_slack": 0.2, "calendars": {"work_groups": {"office-crew": OFFICE}}}, "test policy")
    staff = Api(await restart_under(used), staff.token)
    order = await create_order(staff, START, committedDate=iso(datetime(2027, 3, 15, 13, 0, tzinfo=UTC)))
    # The crew's work is planned to end Wed 10 Mar 09:00, before the order's at-risk instant (Thu 12:12).
    await schedule(staff, order["id"], START, days=(1, 9), workGroup="office-crew")
    mon = monitor(db, clock, used)
    clock.set(datetime(2027, 3, 11, 12, 11, tzinfo=UTC))
    await mon.sweep()
    assert (await staff.ok(ORDER, {"id": order["id"]}))["customerOrder"]["jeopardyLevel"] == "NONE"
    clock.set(datetime(2027, 3, 11, 12, 13, tzinfo=UTC))  # a day before wall-clock time would say so (Fri 17:00)
    await mon.sweep()
    got = (await staff.ok(ORDER, {"id": order["id"]}))["customerOrder"]
    assert got["jeopardyLevel"] == "AT_RISK" and "20%" in got["jeopardyReason"]
    assert levels(await alerts(db, order["id"])) == ["atRisk"]


def test_the_calendar_is_that_of_the_open_work_that_finishes_last() -> None:
    book = parse_calendars({"work_groups": {"office-crew": OFFICE}, "parties": {"FibreCo": OFFICE}})
    crew = SimpleNamespace(
        id=1,
        state="inProgress",
        work_group="office-crew",
        planned_start=START,
        planned_end=START + timedelta(days=3),
        actual_start=START,
        actual_end=None,
        expected_end=None,
    )
    done = SimpleNamespace(**{**vars(crew), "id": 2, "state": "completed", "work_group": None, "actual_end": START})
    party = WorkUnit("partyOrder", 7, 1, None, "inProgress", False, False, True, expected_end=START + timedelta(days=5))
    assert last_worker(book, [crew, done], {}, [], {}) is book.for_work_group("office-crew")
    assert last_worker(book, [crew, done], {}, [party], {7: "FibreCo"}) is book.for_party("FibreCo")
    assert last_worker(book, [crew], {}, [party], {7: "Someone Else"}) is book.default  # no calendar of its own
    assert last_worker(book, [done], {}, [], {}) is book.default  # no open work: the provider's own
