"""Which orders a sweep looks at: those changed since the last sweep, and those time has reached.

A row's jeopardy outcome changes only when its data changes or when the clock passes one of its
rule's thresholds. Every change of data appends an event carrying the order id, and the event log
is numbered gap-free in commit order, so "events after the last sweep's sequence number" names every
order changed since. Thresholds are stored per row (``jeopardy_check_at``, indexed), so "rows whose
check time has come" is a range scan. A sweep therefore reads work in proportion to what changed,
not to the number of open orders.

A sweep works through its orders in batches, each its own transaction (``sweep.run``). The mark
moves past the log only when the last batch commits; until then it keeps the pass's position in the
log and the highest order id done, so a pass cut short (a crash, a new leader) is resumed where it
stopped: nothing it did is done again, nothing it had still to do is passed by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth import SYSTEM
from app.db import UnitOfWork, in_ids, streamed_ids
from app.events import Event, last_sequence
from app.jeopardy import rulebook, rules
from app.jeopardy.models import SweepMark
from app.jeopardy.policy import Policy, escalations_due
from app.orders.models import CustomerOrder
from app.orders.states import OPEN_ORDER
from app.turns import Turns

MARK = "jeopardy-sweep"
# What a sweep records itself. It describes orders that sweep has just brought up to date, so the
# next sweep need not read them (a change of their data by anyone else has its own event).
OWN_EVENTS = ("jeopardyChanged", "escalated", "escalationLowered")


@dataclass
class Plan:
    """The orders one sweep examines, in id order, and the log position its pass reads up to."""

    order_ids: list[int]
    last_seq: int
    moves_mark: bool  # with no order to examine, the mark has still to move (to last_seq, or out of a pass)
    # The mark as the leader's batches leave it (only the leader writes it): kept here, so a batch
    # writes it with one statement instead of reading it first.
    pending: list[int] = field(default_factory=list)
    done_through: int = 0
    has_mark: bool = True
    # Orders whose data may have changed since a sweep last reconciled them: an event of theirs
    # follows the mark, or they were left over. The others only time has reached (or the policy):
    # their work is as the last reconciliation left it (every change of data records an event).
    changed: set[int] = field(default_factory=set)
    policy_digest: str = ""  # the policy this pass settles under: the mark keeps it once the pass ends

    def in_step(self, order_ids: Sequence[int]) -> list[int]:
        """Those of these orders whose work has not changed since they were last reconciled."""
        return [oid for oid in order_ids if oid not in self.changed]


async def plan(session: AsyncSession, ctx: rules.Context, policy: Policy, turns: Turns | None = None) -> Plan:
    """Orders changed since the last sweep, reached by a threshold, left over, or due an escalation.

    Only reads: nothing is locked until a batch locks its own orders. A backlog's ids are read in
    parts, with ``turns`` taken between them.
    """
    mark = await session.get(SweepMark, MARK)
    last = mark.last_seq if mark else 0
    resumed = mark is not None and mark.pass_last_seq is not None  # the rest of a pass cut short
    if mark is not None and mark.pass_last_seq is not None:
        top, done_through = mark.pass_last_seq, mark.pass_order_id or 0
    else:
        # Read before the events: every event up to ``top`` is committed with the data it describes.
        top, done_through = await last_sequence(session), 0
    wanted = set(mark.pending) if mark else set()
    changed = await streamed_ids(
        session,
        select(col(Event.order_id))
        .where(
            col(Event.seq) > last,
            col(Event.seq) <= top,
            col(Event.order_id) > done_through,  # also excludes events of no order
            not_(and_(col(Event.actor) == SYSTEM.name, col(Event.type).in_(OWN_EVENTS))),
        )
        .distinct(),
        turns=turns,
    )
    wanted.update(changed)
    if mark is not None and mark.policy_digest != policy.digest:
        # Another policy than the one the open orders were last settled under (its rules, slack,
        # calendars and forecast settings): this pass settles every open order once, in full.
        wanted.update(await open_orders_after(session, done_through, turns))
    touched = set(wanted)
    for rule in rulebook.RULES:
        wanted |= await rules.due_orders(session, rule, ctx, turns)
    # Time in a level alone can make an escalation due; such an order is examined like the others.
    wanted |= {due.order_id for due in await escalations_due(session, policy, ctx.now)}
    return Plan(
        order_ids=sorted(wanted),
        last_seq=top,
        moves_mark=resumed or mark is None or top != last or mark.policy_digest != policy.digest,
        pending=list(mark.pending) if mark else [],
        done_through=done_through,
        has_mark=mark is not None,
        changed=touched,
        policy_digest=policy.digest,
    )


async def open_orders_after(session: AsyncSession, order_id: int, turns: Turns | None = None) -> set[int]:
    """The open customer orders with a higher id (a pass cut short did those up to ``order_id``)."""
    statement = select(col(CustomerOrder.id)).where(col(CustomerOrder.id) > order_id, col(CustomerOrder.state).in_(OPEN_ORDER))
    return await streamed_ids(session, statement, turns=turns)


async def lock_orders(uow: UnitOfWork, order_ids: Sequence[int]) -> list[int]:
    """Lock the orders in id order (the lock order of every writer), skipping those a mutation holds."""
    if not order_ids or uow.dialect == "sqlite":  # SQLite: the whole write transaction is exclusive
        return sorted(order_ids)
    rows = await uow.session.execute(
        select(col(CustomerOrder.id))
        .where(in_ids(CustomerOrder.id, sorted(order_ids), uow.dialect))
        .order_by(col(CustomerOrder.id))
        .with_for_update(skip_locked=True)
    )
    return [oid for oid in rows.scalars() if oid is not None]  # primary keys: never None


async def advance(uow: UnitOfWork, plan: Plan, batch: Sequence[int], locked: Sequence[int], *, last: bool) -> None:
    """Record in the mark, in the batch's own transaction, that its orders are done; the orders it could
    not lock are kept for the next sweep. The last batch of a pass moves the mark past the pass's log.

    ``plan`` follows the mark; call this last in the batch, whose commit then makes both true.
    """
    done = set(locked)
    pending = sorted((set(plan.pending) - done) | (set(batch) - done))
    values: dict[str, Any] = {"pending": pending} if pending != plan.pending or not plan.has_mark else {}
    if last:
        values.update(last_seq=plan.last_seq, pass_last_seq=None, pass_order_id=None, policy_digest=plan.policy_digest)
    else:
        plan.done_through = max(plan.done_through, max(batch))
        values.update(pass_last_seq=plan.last_seq, pass_order_id=plan.done_through)
    if plan.has_mark:
        await uow.session.execute(update(SweepMark).where(col(SweepMark.name) == MARK).values(values))
    else:
        uow.session.add(SweepMark(name=MARK, **{"last_seq": 0, "policy_digest": plan.policy_digest, **values}))
        await uow.session.flush()
    plan.pending, plan.has_mark = pending, True
