"""A sweep reads, rolls up and forecasts a batch's orders before it locks them, so a writer never
waits for that work; what the batch stores is what doing it under the locks would have stored, and
an order a writer changed in between is read afresh, not given the forecast of its old work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app import consistency
from app.auth import SYSTEM
from app.clock import FrozenClock
from app.columns import table_of
from app.consistency import Prepared, begin_prepare, reconcile, reconciler
from app.db import Database, UnitOfWork
from app.forecast.drawing import DrawingPool
from app.forecast.models import OrderForecast
from app.forecast.simulate import Forecast, Job
from app.jeopardy.service import SweepOutcome
from app.jeopardy.sweep import read_only
from app.orders import activities
from app.orders.models import Activity, CustomerOrder
from tests.jeopardy_support import monitor
from tests.test_jeopardy_monitor import STAFF
from tests.test_sweep_time_only import ESCALATE, make_order

# Orders with work whose forecast a sweep draws: chained and parallel activities, some under way, one late.
ORDERS = [
    (5, [(2, 24, "planned"), (30, 12, "planned")], True),
    (2, [(-4, 10, "inProgress"), (8, 30, "planned")], False),
    (9, [(-30, 20, "late"), (1, 5, "planned"), (10, 10, "planned")], True),
    (3, [], False),
]
Stored = tuple[Any, ...]


@pytest.fixture(autouse=True)
def writes_reconcile(db: Database) -> None:
    db.reconcile = reconciler(ESCALATE)


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The seeds of every forecast drawn in this process from here on (one per order drawn)."""
    seen: list[int] = []
    run: Callable[[Job], Forecast] = Job.run

    def counted(job: Job) -> Forecast:
        seen.append(job.seed)
        return run(job)

    monkeypatch.setattr(Job, "run", counted)
    return seen


@pytest.fixture
def trees_read(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The orders of every tree read from here on (one list per read)."""
    seen: list[list[int]] = []
    read = consistency._read

    async def noted(uow: UnitOfWork, ids: Sequence[int], *args: Any) -> Any:
        seen.append(list(ids))
        return await read(uow, ids, *args)

    monkeypatch.setattr(consistency, "_read", noted)
    return seen


async def new_orders(db: Database, clock: FrozenClock) -> list[int]:
    for n, spec in enumerate(ORDERS):
        await make_order(db, clock, n, spec)
    o = table_of(CustomerOrder).c
    async with db.read() as session:
        return list((await session.execute(select(o.id).order_by(o.id))).scalars())


async def prepared(db: Database, ids: list[int], now: datetime, in_step: Sequence[int] = ()) -> Prepared:
    async with read_only(db, now) as uow:
        return await (await begin_prepare(uow, ids, policy=ESCALATE, in_step=in_step)).done(ESCALATE)


def drawn(ahead: Prepared) -> dict[tuple[int, str], Any]:
    """The forecasts prepared (by order id and inputs key)."""
    assert ahead.drafts is not None, "prepared and done"
    return ahead.drafts.drawn


async def batch(
    db: Database, ids: list[int], now: datetime, ahead: Prepared | None, in_step: Sequence[int] = ()
) -> tuple[Stored, int]:
    """What one batch over these orders stores, rolled back afterwards (the orders' derived columns and
    levels, their forecasts, the events recorded), and how many statements it took."""
    async with db.write_session() as session:
        try:
            uow = UnitOfWork(session=session, actor=SYSTEM, now=now, db=db)
            before = db.statements.count
            await reconcile(uow, ids, policy=ESCALATE, sweep=True, out=SweepOutcome(), in_step=in_step, prepared=ahead)
            await session.flush()
            statements = db.statements.count - before
            o, f = table_of(CustomerOrder).c, table_of(OrderForecast).c
            orders = (
                await session.execute(
                    select(
                        o.id,
                        o.state,
                        o.expected_completion,
                        o.at_risk_from,
                        o.jeopardy_level,
                        o.jeopardy_reason,
                        o.jeopardy_check_at,
                        o.forecast_key,
                        o.forecast_due_at,
                        o.forecast_on_time,
                        o.forecast_summary,
                    ).order_by(o.id)
                )
            ).all()
            forecasts = (await session.execute(select(*[c for c in f if c.name != "computed_at"]).order_by(f.order_id))).all()
            events = [{k: v for k, v in e.items() if k != "at"} for e in uow.pending]
            return (tuple(orders), tuple(forecasts), tuple(map(repr, events))), statements
        finally:
            await session.rollback()


async def test_a_batch_prepared_before_its_locks_stores_what_reconciling_under_the_locks_would(
    db: Database, clock: FrozenClock, draws: list[int]
) -> None:
    ids = await new_orders(db, clock)
    clock.advance(timedelta(days=2))  # their forecasts' time has come, and some of their plans have slipped
    now = clock.now()
    ahead = await prepared(db, ids, now)
    due = len(drawn(ahead))
    assert due >= 3, "the forecasts of the orders with work came due"
    draws.clear()
    (with_prepared, few), (whole, many) = await batch(db, ids, now, ahead), await batch(db, ids, now, None)
    assert len(draws) == due, "only the batch without it drew the forecasts"
    assert with_prepared == whole
    assert with_prepared[2], "the batch recorded level changes to compare"
    assert few < many, "the prepared batch did not read the orders' trees again"

    draws.clear()
    later = now + timedelta(seconds=1)
    assert (await batch(db, ids, later, ahead))[0] == (await batch(db, ids, later, None))[0]
    assert len(draws) == 2 * due, "what was prepared for another instant is not used"


# The plan names the batch's orders changed since the last sweep, or reached by time alone (in step).
PLANNED = pytest.mark.parametrize("time_only", [False, True], ids=["changed", "time only"])


@PLANNED
async def test_an_order_changed_between_preparing_and_the_batch_is_read_afresh_and_keeps_its_new_forecast(
    db: Database,
    clock: FrozenClock,
    draws: list[int],
    trees_read: list[list[int]],
    time_only: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only that order: the batch's other orders are stored as prepared (the log asked once which changed)."""
    ids = await new_orders(db, clock)
    clock.advance(timedelta(days=2))
    now = clock.now()
    steady = ids if time_only else []
    ahead = await prepared(db, ids, now, steady)
    changed = ids[0]
    assert any(oid == changed for oid, _ in drawn(ahead))
    a = table_of(Activity).c
    async with db.read() as session:
        first = (await session.execute(select(a.id).where(a.order_id == changed).order_by(a.id))).scalars().first()
    assert first is not None
    async with db.write(STAFF, now) as uow:  # staff move the first activity's end two days later meanwhile
        await activities.reschedule_activity(uow, first, None, planned_end=now + timedelta(days=4))
    o = table_of(CustomerOrder).c
    async with db.read() as session:
        key = (await session.execute(select(o.forecast_key).where(o.id == changed))).scalar_one()
    assert (changed, key) not in drawn(ahead), "what was prepared was the order's old work"

    asked: list[list[int]] = []
    ask = consistency.changed_since

    async def counted(session: Any, seq: int, order_ids: Sequence[int], dialect: str) -> set[int]:
        asked.append(list(order_ids))
        return await ask(session, seq, order_ids, dialect)

    monkeypatch.setattr(consistency, "changed_since", counted)
    draws.clear()
    trees_read.clear()
    with_prepared, _ = await batch(db, ids, now, ahead, steady)
    assert draws == [], "the changed order's forecast was drawn by its writer, the others' ahead"
    assert trees_read == [[changed]], "the others were stored as prepared"
    assert asked == [sorted(ids)], "the orders found unchanged are not asked about again"
    whole, _ = await batch(db, ids, now, None, steady)
    assert with_prepared == whole
    assert {row.id: row.forecast_key for row in with_prepared[0]}[changed] == key


@PLANNED
async def test_a_batch_that_could_not_lock_some_of_its_orders_stores_the_others_as_prepared(
    db: Database, clock: FrozenClock, draws: list[int], trees_read: list[list[int]], time_only: bool
) -> None:
    """A writer held them as the batch locked (they wait for the next sweep): no order is read again."""
    ids = await new_orders(db, clock)
    clock.advance(timedelta(days=2))
    now = clock.now()
    ahead = await prepared(db, ids, now, ids if time_only else [])
    locked = ids[1:3]
    draws.clear()
    trees_read.clear()
    with_prepared, few = await batch(db, locked, now, ahead, locked if time_only else [])
    assert draws == [] and trees_read == [], "stored as prepared"
    whole, many = await batch(db, locked, now, None, locked if time_only else [])
    assert with_prepared == whole and trees_read == [locked]
    assert few < many


async def test_a_sweep_whose_forecasts_a_worker_process_draws_stores_what_drawing_them_here_would(
    db: Database, clock: FrozenClock, draws: list[int]
) -> None:
    """The monitor hands the draws to a worker process and prepares the next batch meanwhile (batches
    of two orders here): the same forecasts, levels and check times as one batch drawing them here."""
    ids = await new_orders(db, clock)
    clock.advance(timedelta(days=2))
    expected, _ = await batch(db, ids, clock.now(), None)
    draws.clear()
    pool = DrawingPool(1)
    try:
        sweeping = monitor(db, clock, ESCALATE)
        sweeping.pool, sweeping.batch_orders = pool, 2
        result = await sweeping.sweep()
    finally:
        pool.close()
    assert result.outcome is not None and result.outcome.batches == 2
    assert draws == [], "every forecast was drawn by the worker process"
    stored, _ = await batch(db, ids, clock.now(), None)  # as the sweep left them: nothing is due again
    assert draws == []
    assert stored[:2] == expected[:2]
