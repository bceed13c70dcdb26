"""The Monte Carlo on small work graphs whose answer is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from app.calendars.book import parse_calendars
from app.calendars.calendar import ALWAYS
from app.forecast import simulate as simulate_module
from app.forecast.simulate import ACTIVITY, PARTY_ORDER, History, Work, simulate

T0 = datetime(2027, 3, 1, 9, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)
# Factors spread evenly over [1, 2]: a draw is (near enough) uniform on that range.
UNIFORM_1_2 = History(tuple(1 + i / 1000 for i in range(1001)), late=1000)


def activity(
    n: int, start: datetime, hours: float, history: History | None = None, preds: tuple[str, ...] = (), **kw: Any
) -> Work:
    return Work(
        ACTIVITY, n, f"step {n}", kw.pop("calendar", ALWAYS), start, start + hours * HOUR, history=history, preds=preds, **kw
    )


def test_a_chain_of_two_uniform_durations_has_the_known_median_and_chance() -> None:
    # Each planned 10h, taking 10h times U(1, 2): the total is 10h times a triangular sum on [2, 4].
    first = activity(1, T0, 10, UNIFORM_1_2)
    second = activity(2, T0 + 10 * HOUR, 10, UNIFORM_1_2, preds=(first.key,))
    forecast = simulate([first, second], T0 + 32 * HOUR, T0, draws=4000, seed=7, min_samples=5)
    hours = lambda when: (when - T0) / HOUR  # noqa: E731  a short local conversion, read once per assertion
    assert hours(forecast.completion_p50) == pytest.approx(30, abs=0.6)  # median of the sum: 3
    assert hours(forecast.completion_p90) == pytest.approx(40 - 10 * 0.2**0.5, abs=0.6)  # 1 - (4 - s)^2 / 2 = 0.9
    assert forecast.on_time_probability == pytest.approx(1 - 0.8**2 / 2, abs=0.04)  # P(sum <= 3.2) = 0.68
    assert forecast.critical_path == (first.key, second.key)


def test_a_chain_that_is_never_late_meets_its_date_every_time() -> None:
    early = History((0.5, 0.8, 0.9, 1.0, 0.7, 0.95), late=0)
    first = activity(1, T0, 8, early)
    second = activity(2, T0 + 8 * HOUR, 8, early, preds=(first.key,))
    forecast = simulate([first, second], T0 + 16 * HOUR, T0, draws=500, seed=1, min_samples=5)
    assert forecast.on_time_probability == 1.0
    assert forecast.completion_p90 is not None and forecast.completion_p90 <= T0 + 16 * HOUR


def test_a_seeded_run_is_reproducible() -> None:
    work = [activity(1, T0, 10, UNIFORM_1_2), activity(2, T0, 20, UNIFORM_1_2)]
    one = simulate(work, T0 + 30 * HOUR, T0, draws=300, seed=42, min_samples=5)
    again = simulate(work, T0 + 30 * HOUR, T0, draws=300, seed=42, min_samples=5)
    other = simulate(work, T0 + 30 * HOUR, T0, draws=300, seed=43, min_samples=5)
    assert one == again
    assert (one.completion_p50, one.completion_p90, one.on_time_probability) != (
        other.completion_p50,
        other.completion_p90,
        other.on_time_probability,
    )


def test_without_enough_history_the_plan_is_the_forecast_in_one_draw() -> None:
    thin = History((3.0, 3.0), late=2)  # two cases: fewer than min_samples
    forecast = simulate([activity(1, T0, 10, thin)], T0 + 9 * HOUR, T0, draws=500, seed=1, min_samples=5)
    assert forecast.draws == 1
    assert forecast.completion_p50 == forecast.completion_p90 == T0 + 10 * HOUR
    assert forecast.on_time_probability == 0.0


def test_a_slower_activity_is_measured_in_its_work_groups_hours() -> None:
    office = parse_calendars({"default": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00"}}).default
    friday = datetime(2027, 3, 5, 13, tzinfo=UTC)
    # Planned Fri 13:00-17:00 (4 working hours); it always takes twice that: 4 more hours, on Monday.
    twice = History((2.0,) * 5, late=5)
    forecast = simulate(
        [activity(1, friday, 4, twice, calendar=office)], friday + 100 * HOUR, friday, draws=50, seed=3, min_samples=5
    )
    assert forecast.completion_p50 == forecast.completion_p90 == datetime(2027, 3, 8, 13, tzinfo=UTC)


def test_the_order_waits_on_its_least_reliable_party() -> None:
    committed = T0 + 48 * HOUR
    slips = History(tuple([0.0] * 6 + [24 * 3600.0] * 4), late=4)  # late by a day, 4 times in 10
    fibre = Work(PARTY_ORDER, 9, "FibreCo's delivery", ALWAYS, T0 + 40 * HOUR, T0 + 40 * HOUR, due=T0 + 40 * HOUR, history=slips)
    quick = activity(1, T0, 4)
    forecast = simulate([quick, fibre], committed, T0, draws=2000, seed=5, min_samples=5)
    assert forecast.on_time_probability == pytest.approx(0.6, abs=0.04)
    assert forecast.work[fibre.key].probability == pytest.approx(0.6, abs=0.04)
    assert forecast.critical_path == (fibre.key,)
    assert forecast.completion_p90 == T0 + 64 * HOUR


def test_open_work_does_not_finish_before_now_nor_before_a_later_date_it_reported() -> None:
    now = T0 + 50 * HOUR  # the planned end is long past and it is not done
    reported = T0 + 60 * HOUR
    overdue = activity(1, T0, 10, started=True)
    told = Work(PARTY_ORDER, 2, "late delivery", ALWAYS, T0 + 20 * HOUR, T0 + 20 * HOUR, floor=reported)
    forecast = simulate([overdue, told], T0 + 100 * HOUR, now, draws=10, seed=1, min_samples=5)
    assert forecast.work[overdue.key].p50 == now
    assert forecast.completion_p50 == reported


factors = st.lists(st.floats(min_value=0.2, max_value=4.0), min_size=5, max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    plans=st.lists(st.tuples(st.integers(0, 30), st.integers(1, 20), factors), min_size=1, max_size=5),
    chained=st.booleans(),
    seed=st.integers(0, 2**16),
    ahead=st.integers(0, 100),
)
def test_any_forecast_is_ordered_bounded_and_never_before_now(
    plans: list[tuple[int, int, list[float]]],
    chained: bool,
    seed: int,
    ahead: int,
) -> None:
    now = T0 + timedelta(hours=ahead % 7)
    work: list[Work] = []
    previous: tuple[str, ...] = ()
    for n, (offset, hours, samples) in enumerate(plans):
        w = activity(n, T0 + offset * HOUR, hours, History(tuple(samples), sum(1 for f in samples if f > 1)), preds=previous)
        work.append(w)
        previous = (w.key,) if chained else ()
    forecast = simulate(work, T0 + ahead * HOUR, now, draws=50, seed=seed, min_samples=5)
    assert forecast.completion_p50 is not None and forecast.completion_p90 is not None
    assert now <= forecast.completion_p50 <= forecast.completion_p90
    assert 0.0 <= forecast.on_time_probability <= 1.0
    assert all(now <= f.p50 <= f.p90 for f in forecast.work.values())
    # The order completes with its last work in every draw, so its percentiles bound every work's.
    assert forecast.completion_p50 >= max(f.p50 for f in forecast.work.values())
    assert forecast.completion_p90 >= max(f.p90 for f in forecast.work.values())
    assert set(forecast.critical_path) <= {w.key for w in work}


OFFICE = parse_calendars(
    {"default": {"timezone": "Europe/London", "days": ["mon", "tue", "wed", "thu", "fri"], "hours": "08:00-18:00"}}
).default


@st.composite
def plain_graphs(draw: st.DrawFn) -> tuple[list[Work], datetime, datetime]:
    """Work graphs with nothing to draw from (no history): done, started and waiting work, floors, dues,
    party orders, predecessors in any order (some missing or in cycles), in two calendars."""
    hours = st.integers(-48, 200) | st.integers(-2, 12).map(lambda n: 8 * n)  # on a grid: work meets its predecessor's end
    count = draw(st.integers(1, 7))
    keys = [f"{ACTIVITY}:{n}" for n in range(count)]
    work: list[Work] = []
    for n in range(count):
        when = T0 + draw(hours) * HOUR
        calendar = draw(st.sampled_from([ALWAYS, OFFICE]))
        floor = draw(st.none() | hours.map(lambda h: T0 + h * HOUR))
        done = draw(st.none() | hours.map(lambda h: T0 + h * HOUR))
        if draw(st.booleans()):
            preds = tuple(draw(st.lists(st.sampled_from([*keys, f"{PARTY_ORDER}:99"]), max_size=3, unique=True)))
            span = draw(st.integers(0, 60) | st.sampled_from([8, 16])) * HOUR
            thin = draw(st.none() | st.just(History((2.0,), late=1)))  # below min_samples: still the plan
            work.append(
                Work(ACTIVITY, n, f"step {n}", calendar, when, when + span, started=draw(st.booleans()), done_at=done,
                     floor=floor, preds=preds, history=thin)
            )  # fmt: skip
        else:
            due = draw(st.none() | hours.map(lambda h: T0 + h * HOUR))
            work.append(Work(PARTY_ORDER, n, f"party {n}", calendar, when, when, done_at=done, floor=floor, due=due))
    return work, T0 + draw(hours) * HOUR, T0 + draw(st.integers(0, 100)) * HOUR


@settings(max_examples=300, deadline=None)
@given(plain_graphs())
def test_the_plan_drawn_once_on_plain_numbers_equals_the_draws_on_arrays(case: tuple[list[Work], datetime, datetime]) -> None:
    # The sweep draws plan forecasts through simulate.plan; the arrays of _draws with one draw are the
    # definition it must match, forecast for forecast (percentiles, chances, the critical chain).
    work, committed, now = case
    graph = {w.key: w for w in work}
    order = simulate_module._order(graph)
    drawn = simulate_module._draws(graph, order, set(), committed, now, draws=500, seed=1)
    assert simulate(work, committed, now, draws=500, seed=1, min_samples=5) == simulate_module.plan(graph, order, committed, now)
    assert simulate_module.plan(graph, order, committed, now) == drawn
