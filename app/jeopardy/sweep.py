"""A jeopardy sweep: the orders whose time came, in batches, each one short transaction of its own.

The plan (``candidates.plan``) names the orders changed since the last sweep, those a threshold
time has reached, those left over and those the policy now escalates. Each batch locks its orders
in id order and reconciles them like any write does (``app/consistency.py``, also storing their
rows' next check times), records the events and moves the mark, so a writer waits for one batch at
most and a sweep cut short is resumed by the next. What the reconciliation computes is prepared
before the batch locks (``consistency.begin_prepare``: reads, roll-up, forecasts, the draws by a
worker process while the batch before writes and the batch after is read), so the locks are held
for the writing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Protocol

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.auth import SYSTEM
from app.config import MONITOR_BATCH_ORDERS
from app.consistency import Prepared, begin_prepare, reconcile
from app.db import Database, UnitOfWork
from app.forecast.drawing import DrawingPool
from app.jeopardy import candidates, rules
from app.jeopardy.policy import Policy
from app.jeopardy.service import SweepOutcome
from app.turns import Turns, WritesInFlight

# PostgreSQL settings of a sweep's batches. The rules' statements over
# hundreds of ids are estimated costly enough to JIT-compile them: far more time compiling than
# working. Their planner estimates also favour hashing a whole table (every activity, say) for the
# few thousand rows of a batch, which makes each batch cost as much as the table is large; index
# lookups are right for a bounded batch, so hash and merge joins are off and no hash table fits in
# its working memory. A batch that records no event (most of a settling sweep) need not wait for
# its commit to reach the disk: lost in a server crash it only sets the mark back, and the next
# sweep does it again (a batch with events turns it back on). A leader sets them once for the
# session of the connection that runs every batch of its sweep (``for_session``), not per batch.
SETTINGS = (
    ("jit", "off"),
    ("enable_hashjoin", "off"),
    ("enable_mergejoin", "off"),
    ("work_mem", "64kB"),
    ("synchronous_commit", "off"),
)

# The settings of a batch's preparation, whose reads by id plan like a batch's but evaluate no rule
# (so no subquery to keep from hashing): without the small working memory their sorts of a batch's
# rows stay in memory rather than spill to disk; a read-only transaction commits nothing.
READ_SETTINGS = tuple((name, value) for name, value in SETTINGS if name not in ("work_mem", "synchronous_commit"))


def settings(values: Iterable[tuple[str, str]], *, local: bool) -> TextClause:
    """One statement setting these, for the transaction (``local``) or the session."""
    pairs = list(values)
    return text(
        "SELECT " + ", ".join(f"set_config(:name_{n}, :value_{n}, {'true' if local else 'false'})" for n in range(len(pairs)))
    ).bindparams(
        **{f"name_{n}": name for n, (name, _) in enumerate(pairs)}, **{f"value_{n}": v for n, (_, v) in enumerate(pairs)}
    )


async def for_session(conn: AsyncConnection) -> TextClause:
    """Set ``SETTINGS`` for the session of this connection (in its open transaction); returns the
    statement that puts the session's own values back (before the connection goes back to the pool)."""
    names = [name for name, _ in SETTINGS]
    before = (await conn.execute(text("SELECT " + ", ".join(f"current_setting('{name}')" for name in names)))).one()
    await conn.execute(settings(SETTINGS, local=False))
    return settings(zip(names, before, strict=True), local=False)


class SweepTransactions(Protocol):
    """Where a sweep runs: the clock, the read its plan is made in, and one transaction per batch."""

    def now(self) -> datetime: ...

    def reading(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    def writes(self) -> WritesInFlight:
        """This process's writes on the sweep's database: the sweep's reads outside its batches
        give way to them."""
        ...

    def ahead(self, now: datetime) -> AbstractAsyncContextManager[UnitOfWork]:
        """A read-only unit of work outside the batches' transactions: what a batch computes before
        it takes its locks (``read_only``)."""
        ...

    def batch(self, now: datetime) -> AbstractAsyncContextManager[UnitOfWork | None]:
        """One batch's transaction, committed when the block ends, on PostgreSQL with ``SETTINGS``
        in force; None: the sweep may not go on."""
        ...


async def run(
    tx: SweepTransactions,
    policy: Policy,
    batch_orders: int,
    *,
    batch_seconds: float = 0.0,
    keep_events: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    pool: DrawingPool | None = None,
) -> SweepOutcome:
    """Bring levels and escalations up to date: the orders changed since the last sweep and those a
    threshold time has reached (``candidates.plan``), in batches of at most ``batch_orders``, each
    sized to take about ``batch_seconds`` (when set) by the time per order of the batch before.

    Each batch is one short transaction: lock its orders in id order, reconcile them (storing their
    rows' levels, next check times and escalations), record the events, move the mark. Its orders
    are read, rolled up and forecast outside it (``consistency.begin_prepare``) before the batch
    ahead of it writes; its forecasts are drawn by ``pool``'s worker processes, when it has any,
    while that batch writes and the next one is read: the locks are held for the writing only, unless a writer
    changed one of the orders in between. A writer waits for one batch at most; a sweep cut short
    between batches is resumed by the next. ``progress`` hears the orders left after the plan (and
    None) and after each committed batch (and the orders it examined).
    """
    out = SweepOutcome()
    async with tx.reading() as session:
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        ctx = rules.Context(now=tx.now(), dialect=dialect, at_risk_slack=policy.at_risk_slack)
        plan = await candidates.plan(session, ctx, policy, Turns(gate=tx.writes()))  # it locks nothing
        if not plan.order_ids and not plan.moves_mark:
            if progress:
                progress(0, None)
            return out
    ids = plan.order_ids
    remaining = len(ids)
    if progress:
        progress(remaining, None)
    size, start = batch_orders, 0
    batch = ids[:size]  # one batch at least, if empty: it moves the mark
    preparing = current = await _prepare(tx, policy, plan, batch, pool)
    try:
        while True:
            began = time.perf_counter()
            after = start + len(batch)
            last = after >= len(ids)
            current = preparing
            if not last:  # the next batch is read now, while this one's forecasts are drawn by the worker processes
                following = ids[after : after + size]  # (and its own while this one writes)
                preparing = await _prepare(tx, policy, plan, following, pool)
            prepared = await current.done(policy, Turns(gate=tx.writes()))  # before its locks: this process's writes go first
            locking = time.perf_counter()
            async with tx.batch(prepared.now) as uow:
                if uow is None:  # no longer the leader: whoever leads now resumes from the mark
                    out.stopped = True
                    preparing.abandon()  # the next batch's, if any (abandoning a finished one does nothing)
                    break
                postgres = uow.dialect == "postgresql"
                locked = await candidates.lock_orders(uow, batch)
                part = await reconcile(
                    uow, locked, policy=policy, sweep=True, out=SweepOutcome(), in_step=plan.in_step(locked), prepared=prepared
                )
                part.events = list(uow.pending)
                if postgres and uow.pending:  # its events are published after the commit: durable first
                    await uow.session.execute(text("SET LOCAL synchronous_commit = on"))
                await candidates.advance(uow, plan, batch, locked, last=last)
            out.locks_held.append(time.perf_counter() - locking)
            out.add(part, keep_events=keep_events)
            out.orders_examined += len(locked)
            out.batches += 1
            remaining -= len(batch)
            if batch_seconds > 0 and batch:  # sizes the batch after the next (the next one is prepared already)
                size = next_size(len(batch), time.perf_counter() - began, batch_seconds, batch_orders)
            if progress:
                progress(remaining, len(locked))
            if last:
                break
            start, batch = after, following
    except BaseException:  # the draws of its batches to come are not wanted any more
        current.abandon()
        preparing.abandon()
        raise
    return out


async def _prepare(
    tx: SweepTransactions, policy: Policy, plan: candidates.Plan, batch: list[int], pool: DrawingPool | None
) -> Prepared:
    """Begin preparing a batch now, outside its transaction: no writer waits for its reads and draws."""
    now = tx.now()
    async with tx.ahead(now) as ahead:
        return await begin_prepare(ahead, batch, policy=policy, in_step=plan.in_step(batch), pool=pool)


def next_size(orders: int, took: float, seconds: float, most: int) -> int:
    """The orders of the next batch: as many as the last one's time per order fits in ``seconds``,
    at most ``most``, and never more than twice the last (one quick batch is not a trend)."""
    fits = int(seconds * orders / took) if took > 0 else most
    return max(1, min(most, fits, 2 * orders))


@asynccontextmanager
async def read_only(db: Database, now: datetime) -> AsyncIterator[UnitOfWork]:
    """A unit of work on a reading session: for computing, never for writing (nothing commits). On
    PostgreSQL with ``READ_SETTINGS``: its reads are a batch's, over the same hundreds of ids."""
    async with db.read() as session:
        if not db.is_sqlite:
            await session.execute(settings(READ_SETTINGS, local=True))
        yield UnitOfWork(session=session, actor=SYSTEM, now=now, db=db)


class _RolledBack:
    """A dry run's transactions: each batch is computed and rolled back."""

    def __init__(self, db: Database, now: datetime) -> None:
        self.db, self._now = db, now

    def now(self) -> datetime:
        return self._now

    def reading(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self.db.read()

    def writes(self) -> WritesInFlight:
        return self.db.writes

    def ahead(self, now: datetime) -> AbstractAsyncContextManager[UnitOfWork]:
        return read_only(self.db, now)

    @asynccontextmanager
    async def batch(self, now: datetime) -> AsyncIterator[UnitOfWork]:
        async with self.db.write_session() as session:
            try:
                if not self.db.is_sqlite:
                    await session.execute(settings(SETTINGS, local=True))
                yield UnitOfWork(session=session, actor=SYSTEM, now=now, db=self.db)
            finally:
                await session.rollback()


async def dry_run(
    db: Database,
    now: datetime,
    policy: Policy,
    batch_orders: int = MONITOR_BATCH_ORDERS,
    batch_seconds: float = 0.0,
) -> SweepOutcome:
    """What a sweep would change now: the whole sweep, in batches as a sweep runs, each rolled back."""
    return await run(_RolledBack(db, now), policy, batch_orders, batch_seconds=batch_seconds, keep_events=True)
