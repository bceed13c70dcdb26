"""The sweep's forecasts drawn by a worker process are the ones this process draws; and when the
worker processes fail, the forecasts are drawn here, from then on, with a warning."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from app.calendars.book import parse_calendars
from app.calendars.calendar import ALWAYS
from app.forecast.drawing import WORKER_NICENESS, DrawingPool
from app.forecast.simulate import PARTY_ORDER, History, Job, Work, run_all
from tests.test_forecast_simulation import HOUR, T0, UNIFORM_1_2, activity

# A holiday-aware office calendar: the worker process must see the same working time.
OFFICE = parse_calendars(
    {
        "default": {
            "timezone": "Europe/London",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "hours": "08:00-18:00",
            "holidays": {"country": "GB", "subdivision": "ENG"},
            "dates": ["2027-03-03"],
        }
    }
).default
BOUND = 60.0  # seconds a worker may take to start (importing numpy) or to draw
SLIPS = History(tuple(float(h * 3600) for h in range(-4, 30)), late=29)


def jobs() -> list[Job]:
    """Orders with learned and planned work, in both calendars, with a party's slipping delivery."""
    found = []
    for n in range(6):
        calendar = OFFICE if n % 2 else ALWAYS
        party = Work(
            PARTY_ORDER,
            100 + n,
            "FibreCo's delivery",
            calendar,
            T0 + 30 * HOUR,
            T0 + 30 * HOUR,
            due=T0 + 30 * HOUR,
            history=SLIPS,
        )
        work = [
            activity(1, T0 + n * HOUR, 10, UNIFORM_1_2, calendar=calendar),
            activity(2, T0 + 12 * HOUR, 8, UNIFORM_1_2 if n % 3 else None, preds=("activity:1", party.key), calendar=calendar),
            party,
        ]
        found.append(Job(work, T0 + (40 + 10 * n) * HOUR, T0, draws=300, seed=7 + n, min_samples=5))
    return found


async def test_a_worker_process_draws_the_forecasts_this_process_draws() -> None:
    pool = DrawingPool(1)
    try:
        pending = pool.submit(jobs())
        assert pending is not None
        assert await pool.results(pending, jobs()) == run_all(jobs())
        assert pool.processes == 1, "still drawing in the worker process"
    finally:
        pool.close()


async def test_the_worker_processes_start_before_the_first_draw_at_a_lower_cpu_priority() -> None:
    pool = DrawingPool(2)
    try:
        starting = pool.start()
        assert len(starting) == 2 and pool.start() == [], "started once"
        up = await asyncio.wait_for(asyncio.gather(*map(asyncio.wrap_future, starting)), BOUND)
        assert up == [min(19, os.nice(0) + WORKER_NICENESS)] * 2, "a request's statements go first"
        pending = pool.submit(jobs())
        assert pending is not None
        assert await asyncio.wait_for(pool.results(pending, jobs()), BOUND) == run_all(jobs())
    finally:
        pool.close()


async def test_without_worker_processes_nothing_is_submitted() -> None:
    assert DrawingPool(0).submit(jobs()) is None
    assert DrawingPool(1).submit([]) is None, "no process is started for nothing"


async def test_when_the_worker_processes_fail_the_forecasts_are_drawn_here_from_then_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = DrawingPool(1)
    pending = pool.submit(jobs())
    assert pending is not None
    pending.cancel()  # the answer never comes: as if the process had died
    broken = pending.get_loop().create_future()
    broken.set_exception(BrokenProcessPool("a child process terminated abruptly"))
    with caplog.at_level(logging.WARNING, logger="app.forecast.drawing"):
        assert await pool.results(broken, jobs()) == run_all(jobs())
    assert "drawing forecasts in this process from now on" in caplog.text
    assert pool.submit(jobs()) is None, "later draws are made here"
    pool.close()
