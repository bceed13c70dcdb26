"""Only one monitor acts at a time, across processes; it starts with the app and runs on its own."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import migrate
from app.auth import Actor, Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.jeopardy import candidates, rules
from app.jeopardy.monitor import Monitor, run_cli
from app.jeopardy.policy import Policy, load_policy
from app.main import create_app
from app.orders import service
from app.turns import Turns
from tests.jeopardy_support import alerts, monitor, policy
from tests.live import wait_until

STAFF = Actor(name="sam.staff", role=Role.STAFF)
ESCALATE_LATE = policy(rules=[{"name": "late", "level": "late", "escalate_to": 1, "notify": ["ops@example.test"]}])
ROOT = Path(__file__).resolve().parent.parent


async def make_orders(db: Database, clock: FrozenClock, count: int, days: int = 2) -> list[int]:
    ids = []
    async with db.write(STAFF, clock.now()) as uow:
        for n in range(count):
            order = await service.create_order(
                uow,
                service.NewOrder(
                    sales_request_ref=f"SR-MON-{n}-{days}",
                    customer_id="CUST-1",
                    customer_name="Acme Ltd",
                    committed_date=clock.now() + timedelta(days=days),
                    items=[service.NewItem(product_ref="FIBRE-1G")],
                ),
            )
            assert order.id is not None
            ids.append(order.id)
    return ids


def twin(db: Database) -> Database:
    """Another connection pool on the same database, as another process would have."""
    return Database(db.url, schema=db.schema, pool_size=3)


async def test_two_monitors_sweeping_at_once_never_duplicate_an_event(db: Database, clock: FrozenClock) -> None:
    ids = await make_orders(db, clock, 40)
    other = twin(db)
    try:
        a, b = monitor(db, clock, ESCALATE_LATE, "a"), monitor(other, clock, ESCALATE_LATE, "b")
        results = []
        for step in (timedelta(days=1, hours=16), timedelta(hours=9), timedelta(0)):  # atRisk, then late + escalated
            clock.advance(step)
            round_ = list(zip("abab", await asyncio.gather(a.sweep(), b.sweep(), a.sweep(), b.sweep())))
            if db.is_sqlite:  # the lease: within a round one monitor leads, the other stands by
                assert len({name for name, r in round_ if r.led}) == 1
            results += round_
        events = await alerts(db)
        keys = [
            (e.type, e.entity_id, e.data["after"].get("jeopardy_level"), e.data["after"].get("escalation_level")) for e in events
        ]
        assert len(keys) == len(set(keys)), "an event was recorded twice"
        assert sorted(e.entity_id for e in events if e.type == "escalated") == ids
        assert len([e for e in events if e.type == "jeopardyChanged"]) == 2 * len(ids)
        assert sum(r.outcome.level_changes for _, r in results if r.outcome) == 2 * len(ids)
    finally:
        await other.dispose()


async def test_on_sqlite_a_lease_makes_one_monitor_the_leader_until_it_stops_or_expires(
    tmp_path: Path, clock: FrozenClock
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/lease.db")
    await db.create_all()
    try:
        await make_orders(db, clock, 3)
        a, b = monitor(db, clock, name="a"), monitor(db, clock, name="b")
        clock.advance(timedelta(days=3))
        assert (await a.sweep()).outcome.level_changes == 3  # type: ignore[union-attr]  # the leader sweeps: an outcome; None fails here all the same
        assert not (await b.sweep()).led
        clock.advance(timedelta(seconds=5))  # within the lease, renewed by each sweep of a
        assert (await a.sweep()).led and not (await b.sweep()).led
        await a.stop()  # gives the lease up
        assert (await b.sweep()).led
        assert not (await a.sweep()).led
        clock.advance(b.lease + timedelta(seconds=1))  # b died without releasing: the lease runs out
        assert (await a.sweep()).led
        assert len(await alerts(db)) == 3
    finally:
        await db.dispose()


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # SQLite's lease has its own test
async def test_on_postgres_the_advisory_lock_keeps_a_second_monitor_out(db: Database, clock: FrozenClock) -> None:
    await make_orders(db, clock, 2)
    clock.advance(timedelta(days=3))
    mon = monitor(db, clock)
    holder = twin(db)
    try:
        async with holder.engine.connect() as conn:
            got = await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": mon.lock_key()})
            assert got.scalar() is True
            assert not (await mon.sweep()).led
            assert await alerts(db) == []
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": mon.lock_key()})
        result = await mon.sweep()
        assert result.led and result.outcome is not None and result.outcome.level_changes == 2
    finally:
        await holder.dispose()


async def test_the_monitor_starts_with_the_app_and_sweeps_by_itself(db: Database, clock: FrozenClock) -> None:
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=True, monitor_interval_seconds=0.05, _env_file=None
    )
    app = create_app(settings, db=db, clock=clock)
    order_id = (await make_orders(db, clock, 1))[0]
    async with app.router.lifespan_context(app):
        running = app.state.ordertrack.services.monitor
        assert isinstance(running, Monitor)
        clock.advance(timedelta(days=3))
        await wait_until(lambda: alerts(db, order_id), timeout=5, what="the monitor's first sweep")
        assert [e.data["after"]["jeopardy_level"] for e in await alerts(db, order_id, prefix=("jeopardy",))] == ["late"]
    assert running._task is None, "the monitor stops with the app"
    no_monitor = create_app(
        Settings(database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, _env_file=None), db=db, clock=clock
    )
    async with no_monitor.router.lifespan_context(no_monitor):
        assert no_monitor.state.ordertrack.services.monitor is None


async def test_ordertrack_monitor_once_sweeps_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    migrate.upgrade(url)
    db = Database(url)
    past = FrozenClock()
    past.advance(-timedelta(days=10))
    try:
        await make_orders(db, past, 2)  # committed two days after "ten days ago": late now
    finally:
        await db.dispose()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "monitor", "--once"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert "2 level changes, 2 escalations" in run.stdout  # the shipped policy escalates late orders
    await run_cli(Settings(database_url=url, _env_file=None), Database(url), load_policy(), once=True, interval=None)
    assert "0 level changes, 0 escalations" in capsys.readouterr().out  # a repeated sweep finds nothing new


async def test_a_sweep_looks_only_at_orders_that_changed_or_whose_time_came(db: Database, clock: FrozenClock) -> None:
    mon = monitor(db, clock, ESCALATE_LATE)

    async def sweep() -> tuple[int, int, int]:
        """Orders examined, level changes and SQL statements of one sweep."""
        before = db.statements.count
        outcome = (await mon.sweep()).outcome
        assert outcome is not None
        return outcome.orders_examined, outcome.level_changes, db.statements.count - before

    await make_orders(db, clock, 3, days=30)
    assert (await sweep())[0] == 3, "new orders are looked at once, found by their events"
    idle_few = await sweep()
    await make_orders(db, clock, 60, days=31)
    settle_many = await sweep()
    idle_many = await sweep()
    assert idle_few[:2] == idle_many[:2] == (0, 0), "with nothing changed and no threshold reached, a sweep examines no order"
    assert idle_many[2] == idle_few[2], "an idle sweep over 63 open orders costs what one over 3 does"
    assert settle_many[0] == 60
    late = await make_orders(db, clock, 5, days=1)
    await sweep()
    clock.advance(timedelta(days=1, minutes=1))  # only the five cross their committed date
    examined, changes, statements = await sweep()
    assert examined == 5, "the sweep reads the five orders whose time came, not the 63 others"
    assert changes >= 5
    assert statements < settle_many[2] + 15, "five changes are written with a handful of set-wise statements, not per order"
    assert len(await alerts(db, prefix=("escalated",))) == 5
    assert sorted({e.order_id or 0 for e in await alerts(db)}) == late, "no other order changed level"  # 0: none of the orders


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # on SQLite a sweep's write transaction excludes every mutation
async def test_an_order_a_mutation_holds_is_left_for_the_next_sweep_not_passed_by(db: Database, clock: FrozenClock) -> None:
    held, free = await make_orders(db, clock, 2)
    clock.advance(timedelta(days=3))  # both late now
    mon = monitor(db, clock, ESCALATE_LATE)
    holder = twin(db)
    try:
        async with holder.engine.connect() as conn:
            await conn.execute(text("SELECT id FROM customer_order WHERE id = :id FOR UPDATE"), {"id": held})
            first = (await mon.sweep()).outcome
            assert first is not None and first.orders_examined == 1
            assert {e.order_id for e in await alerts(db)} == {free}, "the sweep did not wait for the held order"
            await conn.rollback()  # the mutation ends without recording anything
        second = (await mon.sweep()).outcome
        assert second is not None and second.orders_examined == 1, "the held one (the other's events are the sweep's own)"
        assert {e.order_id for e in await alerts(db)} == {free, held}, "the held order was carried over, not forgotten"
        assert ((await mon.sweep()).outcome or second).orders_examined == 0
    finally:
        await holder.dispose()


async def test_each_order_waits_for_its_next_threshold_the_at_risk_point_then_the_committed_date(
    db: Database, clock: FrozenClock
) -> None:
    order_id = (await make_orders(db, clock, 1, days=10))[0]
    mon = monitor(db, clock, ESCALATE_LATE)  # at_risk_slack 0.2: at risk once less than 2 of the 10 days are left

    async def check_at() -> float | None:
        async with db.read() as session:
            return (
                await session.execute(text("SELECT jeopardy_check_at FROM customer_order WHERE id = :id"), {"id": order_id})
            ).scalar()

    start = clock.now()
    await mon.sweep()
    assert await check_at() == pytest.approx((start + timedelta(days=8)).timestamp(), abs=0.1)
    clock.advance(timedelta(days=7, hours=23))
    assert ((await mon.sweep()).outcome or pytest.fail()).orders_examined == 0, "not yet: nothing to look at"
    clock.advance(timedelta(hours=1, minutes=1))
    assert ((await mon.sweep()).outcome or pytest.fail()).orders_examined == 1
    assert [e.data["after"]["jeopardy_level"] for e in await alerts(db, order_id)] == ["atRisk"]
    assert await check_at() == pytest.approx((start + timedelta(days=10)).timestamp(), abs=0.1)
    clock.advance(timedelta(days=2))
    await mon.sweep()
    assert [e.data["after"].get("jeopardy_level") for e in await alerts(db, order_id)][:2] == ["atRisk", "late"]
    assert await check_at() is None, "late is as far as time alone can take it; only a change of the order moves it now"


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # xmin: PostgreSQL's row version
async def test_a_sweep_rewrites_no_row_whose_level_and_next_check_stay_and_starts_the_since_of_a_new_level(
    db: Database, clock: FrozenClock
) -> None:
    order_id = (await make_orders(db, clock, 1, days=10))[0]
    mon = monitor(db, clock, ESCALATE_LATE)

    async def versions() -> dict[str, tuple[str, datetime | None]]:
        async with db.read() as session:
            rows = await session.execute(
                text(
                    "SELECT 'order', xmin::text, jeopardy_since FROM customer_order WHERE id = :id "
                    "UNION ALL SELECT 'activity ' || id, xmin::text, NULL FROM activity WHERE order_id = :id"
                ),
                {"id": order_id},
            )
            return {name: (xmin, since) for name, xmin, since in rows}

    await mon.sweep()  # the new order: its check times are stored
    stored = await versions()
    async with db.write(STAFF, clock.now()) as uow:
        await service.add_note(uow, order_id, "a note changes nothing the rules read")
    outcome = (await mon.sweep()).outcome
    assert outcome is not None and outcome.orders_examined == 1, "the note's event has the order looked at again"
    assert await versions() == stored, "same level, same next check: not one row rewritten"

    clock.advance(timedelta(days=8, minutes=1))  # past the at-risk point
    outcome = (await mon.sweep()).outcome
    assert outcome is not None and outcome.level_changes >= 1
    after = await versions()
    assert after["order"][1] == clock.now(), "the new level starts now"
    assert [e.data["after"]["jeopardy_level"] for e in await alerts(db, order_id)] == ["atRisk"]


async def test_a_sweep_never_reads_its_own_events_again_but_never_passes_a_change_committed_while_it_ran(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    going_late = await make_orders(db, clock, 2, days=1)
    (quiet,) = await make_orders(db, clock, 1, days=30)
    mon = monitor(db, clock, ESCALATE_LATE)
    await mon.sweep()
    clock.advance(timedelta(days=1, minutes=1))  # the first two are late now
    plan = candidates.plan

    async def plan_then_a_mutation_commits(
        session: AsyncSession, ctx: rules.Context, used: Policy, turns: Turns | None = None
    ) -> candidates.Plan:
        planned = await plan(session, ctx, used, turns)
        assert planned.order_ids == going_late
        async with db.write(STAFF, clock.now()) as w:  # commits between the plan and the batch's events
            await service.add_note(w, quiet, "committed in the middle of a sweep")
        return planned

    monkeypatch.setattr(candidates, "plan", plan_then_a_mutation_commits)
    busy = (await mon.sweep()).outcome
    monkeypatch.undo()
    assert busy is not None and busy.level_changes >= 2
    after = (await mon.sweep()).outcome
    assert after is not None and after.orders_examined == 1, "the note's order: not the two whose own events the sweep wrote"
    assert after.level_changes == 0
    assert ((await mon.sweep()).outcome or after).orders_examined == 0

    clock.advance(timedelta(days=30))  # the quiet one goes late too
    assert ((await mon.sweep()).outcome or after).level_changes >= 1
    assert ((await mon.sweep()).outcome or after).orders_examined == 0, "its own events alone: nothing to look at again"
