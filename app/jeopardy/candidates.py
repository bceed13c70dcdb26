"""Which orders a sweep looks at: those changed since the last sweep, and those time has reached.

A row's jeopardy outcome changes only when its data changes or when the clock passes one of its
rule's thresholds. Every change of data appends an event carrying the order id, and the event log
is numbered gap-free in commit order, so "events after the last sweep's sequence number" names every
order changed since. Thresholds are stored per row (``jeopardy_check_at``, indexed), so "rows whose
check time has come" is a range scan. A sweep therefore reads work in proportion to what changed,
not to the number of open orders.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.db import UnitOfWork, in_ids
from app.events import Event, last_sequence
from app.jeopardy import rulebook, rules
from app.jeopardy.models import SweepMark
from app.orders.models import CustomerOrder

MARK = "jeopardy-sweep"


@dataclass
class Scope:
    """The orders one sweep evaluates (locked by it) and what it leaves for the next one."""

    order_ids: list[int]
    skipped: list[int]  # held by a mutation right now: carried over, so their events are not passed by
    last_seq: int


async def gather(uow: UnitOfWork, ctx: rules.Context) -> Scope:
    """Orders changed since the last sweep or reached by a threshold, locked in id order (held ones skipped)."""
    session = uow.session
    mark = await session.get(SweepMark, MARK)
    last = mark.last_seq if mark else 0
    # Read before the events: every event up to ``top`` is committed with the data it describes.
    top = await last_sequence(session)
    wanted = set(mark.pending) if mark else set()
    changed = await session.execute(
        select(Event.order_id).where(Event.seq > last, Event.seq <= top, Event.order_id.is_not(None)).distinct()
    )
    wanted.update(changed.scalars())
    for rule in rulebook.RULES:
        wanted |= await rules.due_orders(session, rule, ctx)
    locked = await lock_orders(uow, wanted)
    return Scope(order_ids=locked, skipped=sorted(wanted - set(locked)), last_seq=top)


async def lock_orders(uow: UnitOfWork, order_ids: set[int]) -> list[int]:
    """Lock the orders in id order (the lock order of every writer), skipping those a mutation holds."""
    if not order_ids or uow.dialect == "sqlite":  # SQLite: the whole write transaction is exclusive
        return sorted(order_ids)
    rows = await uow.session.execute(
        select(CustomerOrder.id)
        .where(in_ids(CustomerOrder.id, sorted(order_ids), uow.dialect))
        .order_by(CustomerOrder.id)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars())


async def finish(uow: UnitOfWork, scope: Scope) -> None:
    """Move the mark past the events this sweep read, and past its own when it can; keep the orders
    it could not lock for the next one."""
    mark = await uow.session.get(SweepMark, MARK)
    if mark is None:
        mark = SweepMark(name=MARK, last_seq=scope.last_seq, pending=scope.skipped)
        uow.session.add(mark)
    else:
        mark.last_seq, mark.pending = scope.last_seq, scope.skipped
    await uow.session.flush()

    async def past_own_events(events: list[Event]) -> None:
        # The sweep's own events describe what it has just evaluated; looking at those orders again
        # would find nothing. Numbered right after the mark, no other transaction's event lies in
        # between (numbers are given out under one row lock, which this transaction holds now).
        if events and events[0].seq == scope.last_seq + 1:
            mark.last_seq = events[-1].seq
            await uow.session.flush()

    uow.before_commit.append(past_own_events)
