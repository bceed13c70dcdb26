"""A sweep over a backlog works in short batches: writers wait for one batch at most, and a sweep cut
short between batches is finished by the next one with nothing recorded twice."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlmodel import col

from app.audit import audit
from app.clock import FrozenClock
from app.consistency import reconciler
from app.db import Database, UnitOfWork
from app.errors import Unavailable
from app.jeopardy import candidates, service, sweep
from app.jeopardy.models import SweepMark
from app.jeopardy.sweep import SweepTransactions
from app.observability import metrics
from app.orders import activities, service as orders
from app.orders.activities import ActivityProgress, NewActivity
from app.orders.models import CustomerOrder, OrderItem
from tests.jeopardy_support import alerts, monitor, policy
from tests.test_jeopardy_monitor import STAFF, make_orders, twin

ESCALATE_LATE = policy(rules=[{"name": "late", "level": "late", "escalate_to": 1, "notify": ["ops@example.test"]}])
BATCH = 10
BACKLOG = 6 * BATCH + 5  # seven batches


@pytest.fixture(autouse=True)
def writes_reconcile(db: Database) -> Iterator[None]:
    """Every write reconciles the orders it touched under the policy in force, as in the service (the
    app factory wires it): the writers below race the sweep's batches on the same derived state."""
    db.reconcile = reconciler(ESCALATE_LATE)
    yield


class Paused:
    """The sweep's own transactions, with a step the test awaits before each batch opens."""

    def __init__(self, tx: SweepTransactions, before: Callable[[int], Awaitable[None]], took: list[float]) -> None:
        self.tx, self.before, self.opened, self.took = tx, before, 0, took

    def now(self) -> datetime:
        return self.tx.now()

    def reading(self) -> Any:
        return self.tx.reading()

    def writes(self) -> Any:
        return self.tx.writes()

    def ahead(self, now: datetime) -> Any:
        return self.tx.ahead(now)

    @asynccontextmanager
    async def batch(self, now: datetime) -> AsyncIterator[UnitOfWork | None]:
        await self.before(self.opened)
        self.opened += 1
        started = time.perf_counter()
        async with self.tx.batch(now) as uow:
            yield uow
        self.took.append(time.perf_counter() - started)


def between_batches(monkeypatch: pytest.MonkeyPatch, before: Callable[[int], Awaitable[None]]) -> list[float]:
    """Every sweep from now on awaits ``before(n)`` before its batch n (from 0) opens; returns the
    batches' durations as they end."""
    real = sweep.run
    took: list[float] = []

    async def paused(tx: SweepTransactions, *args: Any, **kwargs: Any) -> service.SweepOutcome:
        return await real(Paused(tx, before, took), *args, **kwargs)

    monkeypatch.setattr(sweep, "run", paused)
    return took


def record_batches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[int], list[int]]]:
    """The orders each batch asked to lock and those it locked, in order."""
    seen: list[tuple[list[int], list[int]]] = []
    real = candidates.lock_orders

    async def lock_orders(uow: UnitOfWork, order_ids: Any) -> list[int]:
        locked = await real(uow, order_ids)
        seen.append((list(order_ids), locked))
        return locked

    monkeypatch.setattr(candidates, "lock_orders", lock_orders)
    return seen


async def late_backlog(db: Database, clock: FrozenClock, count: int = BACKLOG) -> list[int]:
    """New orders (so the sweep has not seen them), all past their committed date by now."""
    ids = await make_orders(db, clock, count, days=1)
    clock.advance(timedelta(days=1, minutes=1))
    return ids


async def assert_each_change_recorded_once(db: Database, ids: list[int]) -> None:
    events = await alerts(db)
    per_row = Counter((e.entity, e.entity_id) for e in events if e.type == "jeopardyChanged")
    orders_changed = [oid for (entity, oid), n in per_row.items() if entity == "order"]
    assert sorted(orders_changed) == ids and set(per_row.values()) == {1}, "each row changed level once"
    escalated = Counter(e.entity_id for e in events if e.type == "escalated")
    assert sorted(escalated) == ids and set(escalated.values()) == {1}
    report = await audit(db)
    assert report.ok, report.problems


async def note_seq(db: Database, order_id: int, text_: str) -> int:
    async with db.read() as session:
        rows = await session.execute(
            text("SELECT seq, data FROM event WHERE order_id = :id AND type = 'noteAdded'"), {"id": order_id}
        )
        return next(seq for seq, data in rows if text_ in str(data))


async def change_seq(db: Database, order_id: int) -> int:
    return next(e.seq for e in await alerts(db, order_id) if e.type == "jeopardyChanged" and e.entity == "order")


async def test_a_backlog_of_several_batches_is_swept_one_short_transaction_at_a_time_while_writers_go_on(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await late_backlog(db, clock)
    mon = monitor(db, clock, ESCALATE_LATE)
    mon.batch_orders = BATCH
    chunks = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
    later, held = chunks[-1][0], chunks[3][2]
    writers: dict[str, asyncio.Task[None]] = {}
    waits: list[float] = []
    done = asyncio.Event()

    async def note(order_id: int, words: str) -> None:
        started = time.perf_counter()
        async with db.write(STAFF, clock.now()) as uow:
            await orders.add_note(uow, order_id, words)
        waits.append(time.perf_counter() - started)

    # Orders whose level the assertions below expect their batch (or their own note) to change: a
    # steady writer's note would change it earlier, as every write reconciles its order.
    steady_ids = [oid for oid in ids if oid not in (later, held, chunks[4][0])]

    async def keep_writing() -> int:
        """Mutations on random orders of the backlog for as long as the sweep runs."""
        count = 0
        while not done.is_set():
            await note(random.choice(steady_ids), f"steady note {count}")
            count += 1
        return count

    async def before(n: int) -> None:
        if n == 2:  # an order of the last batch is not held while the first ones run
            await asyncio.wait_for(note(later, "while the sweep is under way"), timeout=10)
        if n == 4:  # a writer that came during batch 3 got its order when that batch committed
            await asyncio.wait_for(writers["held"], timeout=10)

    real_lock = candidates.lock_orders

    async def lock_then_a_writer_comes(uow: UnitOfWork, order_ids: Any) -> list[int]:
        locked = await real_lock(uow, order_ids)
        if held in locked and "held" not in writers:
            writers["held"] = asyncio.create_task(note(held, "during the batch that holds it"))
        return locked

    batch_times = between_batches(monkeypatch, before)
    monkeypatch.setattr(candidates, "lock_orders", lock_then_a_writer_comes)
    batches = record_batches(monkeypatch)
    steady = asyncio.create_task(keep_writing())
    try:
        outcome = (await mon.sweep()).outcome
    finally:
        done.set()
        written = await steady
    assert outcome is not None and outcome.batches == math.ceil(BACKLOG / BATCH) == len(batches) == 7
    asked = [order_ids for order_ids, _ in batches]
    assert all(len(b) <= BATCH for b in asked) and list(chain(*asked)) == ids, "at most a batch each, in id order, each once"
    assert all(locked == sorted(locked) and set(locked) <= set(b) for b, locked in batches), "locked in id order"
    assert await note_seq(db, later, "while the sweep is under way") < await change_seq(db, later)
    held_note = await note_seq(db, held, "during the batch that holds it")
    assert await change_seq(db, held) < held_note < await change_seq(db, chunks[4][0]), "it waited for its batch, and no more"

    monkeypatch.undo()
    await mon.sweep()  # what writers held at a batch's moment, and the orders they noted since
    await assert_each_change_recorded_once(db, ids)
    async with db.read() as session:
        notes = (await session.execute(text("SELECT count(*) FROM event WHERE type = 'noteAdded'"))).scalar_one()
    assert notes == written + 2, "every writer's change committed"
    # Evidence, not a timed assertion (shown with pytest -rP): how long writers waited during the sweep.
    print(
        f"{written + 2} writes during a sweep of {outcome.batches} batches: longest {max(waits) * 1000:.0f} ms,"
        f" median {sorted(waits)[len(waits) // 2] * 1000:.0f} ms; batches took {[round(t * 1000) for t in batch_times]} ms"
    )


async def test_a_sweep_cut_short_between_batches_is_finished_by_the_next_one_with_nothing_recorded_twice(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await late_backlog(db, clock)
    first = monitor(db, clock, ESCALATE_LATE, "first")
    first.batch_orders = BATCH
    real = sweep.reconcile
    calls = 0

    async def fails_in_the_fourth_batch(uow: UnitOfWork, *args: Any, **kwargs: Any) -> service.SweepOutcome:
        nonlocal calls
        out = await real(uow, *args, **kwargs)  # its levels are stored and its events pending, then lost
        calls += 1
        if calls == 4:
            raise RuntimeError("the monitor's process dies")
        return out

    monkeypatch.setattr(sweep, "reconcile", fails_in_the_fourth_batch)
    with pytest.raises(RuntimeError):
        await first.sweep()
    monkeypatch.undo()
    async with db.read() as session:
        mark = await session.get(SweepMark, candidates.MARK)
        assert mark is not None and mark.pass_order_id == ids[3 * BATCH - 1], "three batches are done"
        assert mark.pass_last_seq is not None and mark.last_seq < mark.pass_last_seq
    swept = {e.order_id for e in await alerts(db)}
    assert swept == set(ids[: 3 * BATCH]), "what the three batches did is kept; the fourth left nothing"

    clock.advance(first.lease + timedelta(seconds=1))  # the first leader is gone: on SQLite its lease runs out
    other = twin(db)
    try:
        second = monitor(other, clock, ESCALATE_LATE, "second")
        second.batch_orders = BATCH
        outcome = (await second.sweep()).outcome
        assert outcome is not None and outcome.orders_examined == BACKLOG - 3 * BATCH, "only the rest"
        assert outcome.batches == 4
        again = (await second.sweep()).outcome
        assert again is not None and again.orders_examined == 0, "the pass is done: its orders are not read again"
    finally:
        await other.dispose()
    await assert_each_change_recorded_once(db, ids)


async def test_a_second_monitor_never_sweeps_alongside_the_leader_in_the_middle_of_its_sweep(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await late_backlog(db, clock)
    leader = monitor(db, clock, ESCALATE_LATE, "leader")
    leader.batch_orders = BATCH
    other = twin(db)
    standby = monitor(other, clock, ESCALATE_LATE, "standby")
    standby.batch_orders = BATCH
    took_over: list[service.SweepOutcome] = []
    asked: list[int] = []

    async def before(n: int) -> None:
        if n != 3 or asked:  # the leader's fourth batch (the standby's sweep passes here too)
            return
        asked.append(n)
        if not db.is_sqlite:  # the leader's session holds the lock through all its batches
            assert not (await standby.sweep()).led
            return
        clock.advance(leader.lease + timedelta(seconds=1))  # the leader stalled past its lease
        result = await standby.sweep()
        assert result.led and result.outcome is not None
        took_over.append(result.outcome)

    between_batches(monkeypatch, before)
    try:
        outcome = (await leader.sweep()).outcome
        monkeypatch.undo()
        assert outcome is not None
        if db.is_sqlite:  # the standby finished the pass; the stalled leader found its lease gone and stopped
            assert outcome.stopped and outcome.orders_examined == 3 * BATCH
            assert took_over[0].orders_examined == BACKLOG - 3 * BATCH
        else:
            assert not outcome.stopped and outcome.orders_examined == BACKLOG
            assert (await standby.sweep()).led, "the lock is released at the end of the sweep"
    finally:
        await other.dispose()
    await assert_each_change_recorded_once(db, ids)


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # SQLite's lease: the test above
async def test_a_leader_whose_connection_dies_mid_sweep_lets_the_next_one_resume_at_once(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await late_backlog(db, clock)
    leader = monitor(db, clock, ESCALATE_LATE, "leader")
    leader.batch_orders = BATCH

    async def before(n: int) -> None:
        if n == 2:  # the server ends the leader's session (a crash, a network cut, an operator)
            async with db.write_session() as session:
                await session.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key AND granted"
                    ),
                    {"key": leader.lock_key()},
                )
                await session.commit()

    between_batches(monkeypatch, before)
    with pytest.raises(Unavailable):  # its next batch finds the connection gone
        await leader.sweep()
    monkeypatch.undo()
    assert {e.order_id for e in await alerts(db)} == set(ids[: 2 * BATCH]), "no batch committed without the lock"
    other = twin(db)
    try:
        standby = monitor(other, clock, ESCALATE_LATE, "standby")
        standby.batch_orders = BATCH
        result = await standby.sweep()  # no lease to wait for: the lock went with the session
        assert result.led and result.outcome is not None and result.outcome.orders_examined == BACKLOG - 2 * BATCH
    finally:
        await other.dispose()
    await assert_each_change_recorded_once(db, ids)


async def test_the_dry_run_over_several_batches_reports_the_whole_sweep_and_changes_nothing(
    db: Database, clock: FrozenClock
) -> None:
    ids = await late_backlog(db, clock)
    async with db.read() as session:
        before = (await session.execute(text("SELECT count(*) FROM event"))).scalar_one()
    planned = await sweep.dry_run(db, clock.now(), ESCALATE_LATE, batch_orders=BATCH)
    assert planned.batches == 7 and planned.orders_examined == BACKLOG
    assert sorted(e["order_id"] for e in planned.events if e["type"] == "escalated") == ids
    changes = len([e for e in planned.events if e["type"] == "jeopardyChanged"])
    assert changes >= BACKLOG
    async with db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM event"))).scalar_one() == before
        assert await session.get(SweepMark, candidates.MARK) is None, "not even the mark moved"
    mon = monitor(db, clock, ESCALATE_LATE)
    mon.batch_orders = BATCH
    outcome = (await mon.sweep()).outcome
    assert outcome is not None and (outcome.level_changes, outcome.escalations) == (changes, BACKLOG), "the sweep does just that"


async def test_metrics_show_the_backlog_and_the_sweeps_progress(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await late_backlog(db, clock, 25)
    mon = monitor(db, clock, ESCALATE_LATE)
    mon.batch_orders = BATCH
    examined = metrics.MONITOR_ORDERS_EXAMINED._value.get()
    batches = metrics.MONITOR_BATCHES._value.get()
    backlog: list[float] = []

    async def before(n: int) -> None:
        backlog.append(metrics.MONITOR_BACKLOG._value.get())

    between_batches(monkeypatch, before)
    await mon.sweep()
    assert backlog == [25, 15, 5], "orders still to examine, as each batch begins"
    assert metrics.MONITOR_BACKLOG._value.get() == 0
    assert metrics.MONITOR_ORDERS_EXAMINED._value.get() == examined + 25
    assert metrics.MONITOR_BATCHES._value.get() == batches + 3
    body, _ = metrics.exposition()
    assert b"ordertrack_monitor_backlog_orders 0.0" in body and b"ordertrack_monitor_batches_total" in body


async def test_a_batch_brings_the_whole_order_in_step_not_only_its_jeopardy_level(db: Database, clock: FrozenClock) -> None:
    """Work started by a writer whose database had no reconciliation wired (a script of its own) is
    rolled up by the sweep's batch: each batch runs the one reconciliation, not a level evaluation alone."""
    ids = await make_orders(db, clock, BATCH + 5)
    last = ids[-1]  # in the second batch
    async with db.read() as session:
        item = (await session.execute(select(OrderItem).where(col(OrderItem.order_id) == last))).scalars().one()
    db.reconcile = None
    async with db.write(STAFF, clock.now()) as uow:
        planned = NewActivity(
            kind="install", planned_start=clock.now(), planned_end=clock.now() + timedelta(hours=4), item_id=item.id
        )
        activity = await activities.schedule_activity(uow, last, planned)
        assert activity.id is not None
        await activities.record_progress(uow, activity.id, None, ActivityProgress(state="inProgress", actual_start=clock.now()))
    db.reconcile = reconciler(ESCALATE_LATE)
    async with db.read() as session:
        stale = await session.get(CustomerOrder, last)
        assert stale is not None and stale.state == "acknowledged", "nothing rolled up the started work"
    mon = monitor(db, clock, ESCALATE_LATE)
    mon.batch_orders = BATCH
    outcome = (await mon.sweep()).outcome
    assert outcome is not None and outcome.batches == 2
    async with db.read() as session:
        order = await session.get(CustomerOrder, last)
        rolled = await session.get(OrderItem, item.id)
        assert order is not None and rolled is not None
        assert (order.state, rolled.state) == ("inProgress", "inProgress")
        assert order.expected_completion == clock.now() + timedelta(hours=4)
    report = await audit(db)
    assert report.ok, report.problems


SWEEP_SETTINGS = "SELECT " + ", ".join(f"current_setting('{name}')" for name, _ in sweep.SETTINGS)


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # session settings: PostgreSQL's
async def test_the_leaders_connection_goes_back_to_the_pool_with_its_own_settings(db: Database, clock: FrozenClock) -> None:
    async with db.engine.connect() as conn:
        own = tuple((await conn.execute(text(SWEEP_SETTINGS))).one())
    assert own != tuple(value for _, value in sweep.SETTINGS)
    await late_backlog(db, clock)
    leader = monitor(db, clock, ESCALATE_LATE, "leader")
    leader.batch_orders = BATCH
    result = await leader.sweep()
    assert result.outcome is not None and result.outcome.batches > 1  # the settings held across its batches
    async with AsyncExitStack() as stack:  # every connection the pool keeps, the leader's among them
        pooled = [await stack.enter_async_context(db.engine.connect()) for _ in range(5)]
        found = [tuple((await conn.execute(text(SWEEP_SETTINGS))).one()) for conn in pooled]
    assert found == [own] * 5


def test_a_batch_is_sized_by_the_time_per_order_of_the_one_before() -> None:
    # 100 orders took 0.2 s: 2 ms an order, so 0.1 s holds 50; never more than the cap, nor less than one.
    assert sweep.next_size(100, 0.2, 0.1, 250) == 50
    assert sweep.next_size(100, 10.0, 0.1, 250) == 1
    # A quick batch lets the next grow, but at most to twice its size and never past the cap.
    assert sweep.next_size(10, 0.001, 0.1, 250) == 20
    assert sweep.next_size(200, 0.001, 0.1, 250) == 250


async def test_a_sweep_whose_batches_run_slow_shrinks_them_and_still_examines_every_order_once(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await late_backlog(db, clock)
    mon = monitor(db, clock, ESCALATE_LATE)
    mon.batch_orders, mon.batch_seconds = BATCH, 1e-6  # every batch is over its time: the one after the next holds one order
    seen = record_batches(monkeypatch)
    result = await mon.sweep()
    assert result.outcome is not None
    sizes = [len(asked) for asked, _ in seen]
    # The second batch is prepared while the first writes, before the first's time is known.
    assert sizes[:2] == [BATCH, BATCH] and set(sizes[2:]) == {1}, sizes
    assert sorted(chain.from_iterable(locked for _, locked in seen)) == ids, "each order examined once, in id order"
    assert result.outcome.orders_examined == len(ids) and result.outcome.batches == len(sizes)
    await assert_each_change_recorded_once(db, ids)
    again = await mon.sweep()
    assert again.outcome is not None and again.outcome.orders_examined == 0, "the mark moved past the whole pass"


async def test_quick_batches_grow_back_to_the_most_a_batch_may_hold(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await late_backlog(db, clock)
    mon = monitor(db, clock, ESCALATE_LATE)
    mon.batch_orders, mon.batch_seconds = BATCH, 3600.0
    seen = record_batches(monkeypatch)
    result = await mon.sweep()
    assert result.outcome is not None
    assert [len(asked) for asked, _ in seen] == [len(c) for c in (ids[i : i + BATCH] for i in range(0, len(ids), BATCH))]
    await assert_each_change_recorded_once(db, ids)


SLACK_20 = policy()  # at_risk_slack 0.2 (jeopardy_support.policy)
SLACK_90 = policy(at_risk_slack=0.9)


async def order_levels(db: Database, ids: list[int]) -> dict[int, str]:
    async with db.read() as session:
        rows = await session.execute(
            select(col(CustomerOrder.id), col(CustomerOrder.jeopardy_level)).where(col(CustomerOrder.id).in_(ids))
        )
        return {oid: level for oid, level in rows if oid is not None}


async def test_a_new_policy_settles_every_open_order_once_under_it(db: Database, clock: FrozenClock) -> None:
    # Ops widen the at-risk slack from 20% to 90% of each order's window and restart: halfway through
    # their windows, every open order is now at risk, though neither its data nor a threshold moved.
    ids = await make_orders(db, clock, 2 * BATCH + 3, days=2)
    before = monitor(db, clock, SLACK_20, "before")
    await before.sweep()
    clock.advance(timedelta(days=1))
    await before.sweep()
    assert set((await order_levels(db, ids)).values()) == {"none"}
    clock.advance(before.lease + timedelta(seconds=1))  # the process restarts (on SQLite its lease runs out)
    after = monitor(db, clock, SLACK_90, "after")
    after.batch_orders = BATCH
    outcome = (await after.sweep()).outcome
    assert outcome is not None and outcome.orders_examined == len(ids) and outcome.batches == 3
    assert set((await order_levels(db, ids)).values()) == {"atRisk"}
    again = (await after.sweep()).outcome
    assert again is not None and again.orders_examined == 0, "settled under this policy: nothing to read again"
    changes = Counter(e.entity_id for e in await alerts(db) if e.type == "jeopardyChanged" and e.entity == "order")
    assert sorted(changes) == ids and set(changes.values()) == {1}
    report = await audit(db)
    assert report.ok, report.problems


async def test_a_pass_under_a_new_policy_cut_short_is_finished_by_the_next_sweep(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await make_orders(db, clock, 3 * BATCH, days=2)
    await monitor(db, clock, SLACK_20, "first").sweep()
    clock.advance(timedelta(days=1))
    first = monitor(db, clock, SLACK_90, "first")
    first.batch_orders = BATCH
    real = sweep.reconcile
    calls = 0

    async def fails_in_the_second_batch(uow: UnitOfWork, *args: Any, **kwargs: Any) -> service.SweepOutcome:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the monitor's process dies")
        return await real(uow, *args, **kwargs)

    monkeypatch.setattr(sweep, "reconcile", fails_in_the_second_batch)
    with pytest.raises(RuntimeError):
        await first.sweep()
    monkeypatch.undo()
    levels = await order_levels(db, ids)
    assert [levels[i] for i in ids] == ["atRisk"] * BATCH + ["none"] * (2 * BATCH), "the first batch is done"
    clock.advance(first.lease + timedelta(seconds=1))
    second = monitor(db, clock, SLACK_90, "second")
    second.batch_orders = BATCH
    outcome = (await second.sweep()).outcome
    assert outcome is not None and outcome.orders_examined == 2 * BATCH, "only the rest of the pass"
    assert set((await order_levels(db, ids)).values()) == {"atRisk"}
    again = (await second.sweep()).outcome
    assert again is not None and again.orders_examined == 0
