"""An order only time has reached is settled by a sweep without reading its tree, and the outcome is
the one the whole reconciliation gives: the roll-up reads the rows' data, never the clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select
from sqlmodel import col

from app.auth import SYSTEM
from app.clock import FrozenClock
from app.columns import table_of
from app.consistency import reconcile, reconciler
from app.db import Database, UnitOfWork
from app.forecast.models import OrderForecast
from app.jeopardy import candidates, rules
from app.jeopardy.models import Escalation
from app.jeopardy.policy import Policy
from app.jeopardy.service import SweepOutcome
from app.orders import activities, service as orders
from app.orders.activities import ActivityProgress, NewActivity
from app.orders.models import Activity, CustomerOrder, OrderItem
from tests.jeopardy_support import monitor, policy
from tests.test_jeopardy_monitor import STAFF

ESCALATE = policy(
    rules=[
        {"name": "late", "level": "late", "escalate_to": 2, "notify": ["ops@example.test"]},
        {"name": "slipping", "level": "jeopardy", "after": "6h", "escalate_to": 1, "notify": ["lead@example.test"]},
    ]
)
# Per activity: hours from now to its planned start, its length in hours, what has happened to it.
ACTIVITY = st.tuples(st.integers(-48, 96), st.integers(1, 72), st.sampled_from(["planned", "inProgress", "completed", "late"]))
ORDER = st.tuples(st.integers(1, 10), st.lists(ACTIVITY, min_size=0, max_size=3), st.booleans())


@pytest.fixture(autouse=True)
def writes_reconcile(db: Database) -> None:
    """Writes reconcile under the policy the sweeps run under."""
    db.reconcile = reconciler(ESCALATE)


async def make_order(db: Database, clock: FrozenClock, n: int, spec: tuple[int, list[tuple[int, int, str]], bool]) -> None:
    """An order due in ``days``, its activities scheduled (each after the one before when ``chained``) and progressed."""
    days, work, chained = spec
    now = clock.now()
    async with db.write(STAFF, now) as uow:
        order = await orders.create_order(
            uow,
            orders.NewOrder(
                sales_request_ref=f"SR-TIME-{n}",
                customer_id="CUST-1",
                customer_name="Acme Ltd",
                committed_date=now + timedelta(days=days),
                items=[orders.NewItem(product_ref="FIBRE-1G")],
            ),
        )
        assert order.id is not None
        item = (await uow.session.execute(select(col(OrderItem.id)).where(col(OrderItem.order_id) == order.id))).scalar_one()
        before: list[int] = []
        done = True
        for start, hours, happened in work:
            planned = NewActivity(
                kind="install",
                planned_start=now + timedelta(hours=start),
                planned_end=now + timedelta(hours=start + hours),
                item_id=item,
                predecessor_ids=before[-1:] if chained else [],
            )
            activity = await activities.schedule_activity(uow, order.id, planned)
            assert activity.id is not None
            before.append(activity.id)
            if chained and len(before) > 1 and not done:  # it cannot start before its predecessor is completed
                happened = "planned"
            done = happened == "completed"
            if happened in ("inProgress", "completed", "late"):
                expected = now + timedelta(hours=start + hours * 3) if happened == "late" else None
                await activities.record_progress(
                    uow, activity.id, None, ActivityProgress(state="inProgress", actual_start=now, expected_end=expected)
                )
            if happened == "completed":
                await uow.session.flush()
                await activities.record_progress(uow, activity.id, None, ActivityProgress(state="completed", actual_end=now))


async def outcome(db: Database, clock: FrozenClock, used: Policy, ids: list[int], in_step: list[int]) -> tuple[Any, ...]:
    """What a sweep's batch over these orders records and stores, rolled back afterwards."""
    async with db.write_session() as session:
        try:
            uow = UnitOfWork(session=session, actor=SYSTEM, now=clock.now(), db=db)
            found = await reconcile(uow, ids, policy=used, sweep=True, out=SweepOutcome(), in_step=in_step)
            await session.flush()
            events = [{k: v for k, v in e.items() if k != "at"} for e in uow.pending]
            o, a = table_of(CustomerOrder).c, table_of(Activity).c
            order_rows = (
                await session.execute(
                    select(
                        o.id,
                        o.state,
                        o.expected_completion,
                        o.jeopardy_level,
                        o.jeopardy_reason,
                        o.jeopardy_since,
                        o.escalation_level,
                        o.jeopardy_check_at,
                        o.at_risk_from,
                        o.forecast_key,
                        o.forecast_due_at,
                        o.forecast_on_time,
                        o.forecast_summary,
                    ).order_by(o.id)
                )
            ).all()
            activity_rows = (
                await session.execute(
                    select(a.id, a.state, a.jeopardy_level, a.jeopardy_reason, a.jeopardy_check_at).order_by(a.id)
                )
            ).all()
            escalations = (
                await session.execute(
                    select(
                        col(Escalation.order_id), col(Escalation.from_level), col(Escalation.to_level), col(Escalation.rule)
                    ).order_by(col(Escalation.id))
                )
            ).all()
            f = table_of(OrderForecast).c
            drawn = (
                await session.execute(
                    select(
                        f.order_id, f.completion_p50, f.completion_p90, f.on_time_probability, f.basis, f.computed_at
                    ).order_by(f.order_id)
                )
            ).all()
            counts = (found.level_changes, found.escalations, found.deescalations)
            return counts, events, order_rows, activity_rows, escalations, drawn
        finally:
            await session.rollback()


async def forecast_due(db: Database, ids: list[int], now: datetime) -> set[int]:
    """The orders whose forecast is to be drawn again now (``reconcile`` then reads their work too)."""
    o = table_of(CustomerOrder).c
    async with db.read() as session:
        rows = await session.execute(select(o.id).where(o.id.in_(ids), o.forecast_due_at <= now.timestamp()))
        return set(rows.scalars())


Example = tuple[list[tuple[int, list[tuple[int, int, str]], bool]], list[int]]


def examples(count: int) -> list[Example]:
    """New orders, then the hours the clock moves on by, one sweep after each move (drawn up front:
    the test then runs them in its own event loop)."""
    found: list[Example] = []

    @settings(max_examples=count, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.lists(ORDER, min_size=1, max_size=4), st.lists(st.integers(1, 100), min_size=1, max_size=3))
    def collect(new: list[tuple[int, list[tuple[int, int, str]], bool]], later: list[int]) -> None:
        found.append((new, later))

    collect()
    return found


async def test_an_order_only_time_has_reached_settles_the_same_without_its_tree_roll_up(db: Database, clock: FrozenClock) -> None:
    """New orders are settled by a sweep; then, each time the clock moves on, the orders whose time came
    (none of them changed since) are settled with and without their roll-up, with the same result."""
    made = compared = narrowed = redrawn = 0
    mon = monitor(db, clock, ESCALATE)
    for new, later in examples(10):
        for spec in new:
            made += 1
            await make_order(db, clock, made, spec)
        assert (await mon.sweep()).led
        for hours in later:
            clock.advance(timedelta(hours=hours))
            async with db.read() as session:
                ctx = rules.Context(
                    now=clock.now(), dialect="sqlite" if db.is_sqlite else "postgresql", at_risk_slack=ESCALATE.at_risk_slack
                )
                plan = await candidates.plan(session, ctx, ESCALATE)
            assert plan.in_step(plan.order_ids) == plan.order_ids, "nothing but time changed"
            if not plan.order_ids:
                continue
            before = db.statements.count
            whole = await outcome(db, clock, ESCALATE, plan.order_ids, in_step=[])
            read_whole, before = db.statements.count - before, db.statements.count
            assert await outcome(db, clock, ESCALATE, plan.order_ids, in_step=plan.order_ids) == whole
            read_narrow = db.statements.count - before
            due = await forecast_due(db, plan.order_ids, clock.now())
            assert read_narrow < read_whole, "their items and other work were not read"
            if not due:
                narrowed += 1
            elif due == set(plan.order_ids):  # a due forecast reads those orders' activities, and no more
                redrawn += 1
            compared += len(whole[1])
            assert (await mon.sweep()).led
    assert compared > 0, "time changed some levels to compare"
    assert narrowed > 0, "some sweeps settled their orders without reading their work"
    assert redrawn > 0, "some sweeps drew every order's forecast again without rolling any up"
