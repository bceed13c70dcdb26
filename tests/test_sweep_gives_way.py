"""A staff write in the service's process is not kept waiting by the jeopardy sweep's work outside
its batches. The plan and the preparation of a batch lock nothing: they pause while a write is in
flight and go on once it commits (or after ``PATIENCE`` when writes never stop). A batch, which
holds its orders' locks, never waits for writers: one of them may be waiting for those locks."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from app import consistency, turns
from app.clock import FrozenClock
from app.consistency import begin_prepare, reconcile, reconciler
from app.db import Database, UnitOfWork
from app.jeopardy import candidates, rules
from app.jeopardy.service import SweepOutcome
from app.jeopardy.sweep import read_only
from app.orders import service
from app.turns import Turns, WritesInFlight
from tests.jeopardy_support import alerts, monitor
from tests.test_jeopardy_monitor import STAFF
from tests.test_sweep_prepared_batches import new_orders
from tests.test_sweep_time_only import ESCALATE

BOUND = 10.0  # seconds any awaited step may take at most


@pytest.fixture(autouse=True)
def writes_reconcile(db: Database) -> None:
    db.reconcile = reconciler(ESCALATE)


@pytest.fixture
def gave_way(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.Event]:
    """Set once a computation pauses for a write in flight; meanwhile writers get all the patience
    they need, and every computation takes its turn at every step."""
    paused = asyncio.Event()
    cleared = WritesInFlight.cleared

    async def noted(self: WritesInFlight, patience: float | None = None) -> None:
        if self.count:
            paused.set()
        await cleared(self, patience)

    monkeypatch.setattr(WritesInFlight, "cleared", noted)
    monkeypatch.setattr(turns, "PATIENCE", 3600.0)
    monkeypatch.setattr(consistency, "Turns", functools.partial(Turns, 0.0))
    yield paused


@asynccontextmanager
async def a_write_in_flight(db: Database, clock: FrozenClock, order_id: int) -> AsyncIterator[None]:
    """A staff note on an order, its transaction open until the block ends, then committed."""
    async with db.write(STAFF, clock.now()) as uow:
        await service.add_note(uow, order_id, "written while the monitor sweeps")
        yield


async def test_turns_that_give_way_wait_for_the_writes_in_flight_and_only_so_long() -> None:
    writes = WritesInFlight()
    with writes.one():
        waiting = asyncio.create_task(Turns(0.0, gate=writes).take())
        for _ in range(20):  # the loop goes round; the write has not committed
            await asyncio.sleep(0)
        assert not waiting.done()
    await asyncio.wait_for(waiting, BOUND)
    with writes.one():  # writes that never stop: it goes on after its patience
        await asyncio.wait_for(writes.cleared(patience=0.01), BOUND)
    assert writes.count == 0


async def test_the_preparation_of_a_batch_pauses_while_a_staff_note_is_being_written(
    db: Database, clock: FrozenClock, gave_way: asyncio.Event
) -> None:
    ids = await new_orders(db, clock)
    clock.advance(timedelta(days=2))  # their forecasts are due: the preparation rolls them up and draws

    async def prepare() -> consistency.Prepared:
        async with read_only(db, clock.now()) as uow:
            return await (await begin_prepare(uow, ids, policy=ESCALATE)).done(ESCALATE)

    async with a_write_in_flight(db, clock, ids[-1]):
        preparing = asyncio.create_task(prepare())
        await asyncio.wait_for(gave_way.wait(), BOUND)
        assert not preparing.done(), "the preparation waits while the note is being written"
    prepared = await asyncio.wait_for(preparing, BOUND)
    assert prepared.ids == tuple(ids) and prepared.drafts is not None and prepared.drafts.drawn


async def test_the_sweeps_plan_pauses_while_a_staff_note_is_being_written(
    db: Database, clock: FrozenClock, gave_way: asyncio.Event
) -> None:
    ids = await new_orders(db, clock)

    async def plan() -> candidates.Plan:
        async with db.read() as session:
            ctx = rules.Context(now=clock.now(), dialect=db.engine.dialect.name, at_risk_slack=ESCALATE.at_risk_slack)
            return await candidates.plan(session, ctx, ESCALATE, Turns(0.0, gate=db.writes))

    async with a_write_in_flight(db, clock, ids[0]):
        planning = asyncio.create_task(plan())
        await asyncio.wait_for(gave_way.wait(), BOUND)
        assert not planning.done(), "the plan waits while the note is being written"
    assert (await asyncio.wait_for(planning, BOUND)).order_ids == ids, "every new order, the noted one included"


# PostgreSQL: on SQLite, with one writer at a time, a batch's transaction begins after the note's commit.
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_a_batch_holding_its_locks_does_not_wait_for_a_write_in_flight(
    db: Database, clock: FrozenClock, gave_way: asyncio.Event
) -> None:
    ids = await new_orders(db, clock)
    clock.advance(timedelta(days=2))
    noted, others = ids[0], ids[1:]
    async with a_write_in_flight(db, clock, noted):
        async with db.write_session() as session:
            uow = UnitOfWork(session=session, actor=STAFF, now=clock.now(), db=db)
            locked = await candidates.lock_orders(uow, others)
            out = await asyncio.wait_for(reconcile(uow, locked, policy=ESCALATE, sweep=True, out=SweepOutcome()), BOUND)
            await session.rollback()
    assert locked == others and out.level_changes > 0
    assert not gave_way.is_set(), "the batch never paused for the write"


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_a_batch_numbers_and_commits_its_events_in_one_message_as_a_write_does(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every writer's commit needs the event sequence row; a batch numbering its events with a
    statement of its own, then inserting them and committing, held that lock across its round trips
    and its Python (the event loop every writer of the process waits on)."""
    import app.db

    async def not_on_postgres(*_: object) -> None:
        raise AssertionError("the batch numbered its events apart from its commit")

    ids = await new_orders(db, clock)
    clock.advance(timedelta(days=2))  # their levels change: the batch records events
    monkeypatch.setattr(app.db, "flush_events", not_on_postgres)
    result = await monitor(db, clock, ESCALATE).sweep()
    assert result.outcome is not None and result.outcome.level_changes > 0
    swept = await alerts(db)
    assert {e.order_id for e in swept} <= set(ids) and swept, "the batch's events, numbered"
    seqs = [e.seq for e in swept]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
