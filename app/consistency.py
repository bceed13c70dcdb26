"""What keeps an order consistent: one reconciliation of everything derived from a customer order's work.

Every write transaction ends here (``UnitOfWork.settle``, handed this function by the app factory)
for each customer order it recorded an event about, and every jeopardy sweep calls it for the orders
whose time came, one batch (one transaction) at a time (``app/jeopardy/sweep.py``). For each
order, in this order:

1. each item's state, rolled up from its own work and its children (``work.rolled_up_item``);
2. the order's state: in progress once work started, completed once every item is closed and
   something was done, cancelled once the last party confirmed a pending cancellation;
3. its expected completion: the critical path of its work, done work at its actual end, dropped
   work not at all (``schedule.expected_completion``); and the instant after which finishing
   leaves too little slack, in the working time of whoever does the last work (``jeopardy.slack``);
4. the needed-by date of its open party orders: the committed date, unless staff gave an earlier one;
5. its forecast, when the dates or states it reads changed or its time came (``app/forecast/service.py``);
6. the jeopardy levels and reasons of the order, its activities and party orders (the set-based
   rules of ``app/jeopardy``), escalation by policy, and escalation lowered to 0 when the order or
   party order closes or recovers.

Each thing that moves records one event; what does not move records nothing. The mutation's
answer shows the result, because the rows it returns are the ones changed here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.columns import table_of
from app.db import Reconciler, UnitOfWork, in_ids, show_stored, update_by_id
from app.events import Event, last_sequence
from app.forecast import service as forecasts
from app.forecast.drawing import DrawingPool
from app.jeopardy import slack
from app.jeopardy.policy import Policy
from app.jeopardy.service import SweepOutcome, change_escalation, settle_levels
from app.orders import schedule, states, work
from app.orders.core import move_order
from app.orders.models import Activity, ActivityDependency, ActivityPartyDependency, CustomerOrder, OrderItem
from app.party_orders import states as party_states
from app.party_orders.core import record as record_party, touch as touch_party
from app.party_orders.models import Party, PartyOrder
from app.party_orders.work import PARTY_ORDERS
from app.turns import Turns

# A plain row of any columns (SQLAlchemy types a row by its columns' types).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
# Every kind of work a customer order has, the one list of them.
WORK: tuple[work.Kind, ...] = (work.ACTIVITIES, work.SERVICE_ORDER_REQUESTS, PARTY_ORDERS)
# Order states from which the roll-up completes an order (a held or cancelling order waits for staff).
COMPLETES_FROM = frozenset({"acknowledged", "inProgress", "pending"})
# Item states that say nothing of provisioning having started (an item removed by an amendment among them).
NOT_STARTED_ITEM = frozenset({"acknowledged", "cancelled", "pendingCancellation"})


@dataclass
class Tree:
    """What the reconciliation reads of a set of orders, as plain rows grouped by order (no ORM
    objects: a sweep may read thousands of orders in which nothing moves)."""

    orders: list[AnyRow]
    items: dict[int, list[AnyRow]] = field(default_factory=lambda: defaultdict(list))
    activities: dict[int, list[AnyRow]] = field(default_factory=lambda: defaultdict(list))
    preds: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    waits: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))  # activity -> party orders it waits on
    units: dict[int, list[work.WorkUnit]] = field(default_factory=lambda: defaultdict(list))
    party_orders: dict[int, list[AnyRow]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class Moves:
    """What is to change, found on the plain rows, applied to the ORM rows afterwards."""

    items: dict[int, str] = field(default_factory=dict)  # item id -> new state
    orders: dict[int, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))  # (state, reason) steps
    expected: dict[int, datetime | None] = field(default_factory=dict)
    needed_by: dict[int, datetime] = field(default_factory=dict)
    cancelled: list[int] = field(default_factory=list)  # orders whose open items are cancelled with them


async def _read(uow: UnitOfWork, ids: Sequence[int], in_step: frozenset[int], turns: Turns) -> tuple[Tree, list[int], list[int]]:
    """The orders and their party orders; the activities (with their predecessors and the party
    orders they wait on) of those whose work is read; and the items and other work of those to roll
    up, a part of them. Rolled up: all but the ``in_step`` ones whose at-risk instant is stored
    (finding it reads their work). Their work read: those, and the ``in_step`` ones whose forecast
    is due (drawing it reads their activities; their roll-up would move nothing)."""
    session, dialect = uow.session, uow.dialect
    o, p = table_of(CustomerOrder).c, table_of(PartyOrder).c
    orders = list(
        await session.execute(
            select(
                o.id,
                o.state,
                o.requested_at,
                o.committed_date,
                o.expected_completion,
                o.at_risk_from,
                o.escalation_level,
                o.jeopardy_level,
                o.forecast_key,
                o.forecast_due_at,
            )
            .where(in_ids(o.id, ids, dialect))
            .order_by(o.id)
        )
    )
    tree = Tree(orders=orders)
    for po in await session.execute(
        select(
            p.id,
            p.order_id,
            p.party_id,
            p.state,
            p.needed_by,
            p.needed_by_given,
            p.escalation_level,
            p.jeopardy_level,
            p.committed_delivery,
            p.expected_delivery,
            p.delivered_at,
        )
        .where(in_ids(p.order_id, ids, dialect))
        .order_by(p.id)
    ):
        await turns.take()
        tree.party_orders[po.order_id].append(po)
    rolled = [o.id for o in orders if o.id not in in_step or (o.at_risk_from is None and states.ORDER.is_open(o.state))]
    to_roll = set(rolled)
    worked = [o.id for o in orders if o.id in to_roll or forecasts.due(o, uow.now)]
    if worked:
        await _read_activities(uow, tree, worked, turns)
    if rolled:
        await _read_roll_up(uow, tree, rolled, turns)
    return tree, worked, rolled


async def _read_activities(uow: UnitOfWork, tree: Tree, ids: list[int], turns: Turns) -> None:
    """These orders' activities, their predecessors and the party orders they wait on, into ``tree``."""
    session, dialect = uow.session, uow.dialect
    a, d = table_of(Activity).c, table_of(ActivityDependency).c
    # The activities with their predecessors, in one read: an activity's row once per predecessor.
    for activity in await session.execute(
        select(
            a.id,
            a.order_id,
            a.item_id,
            a.kind,
            a.work_group,
            a.state,
            a.planned_start,
            a.planned_end,
            a.actual_start,
            a.actual_end,
            a.expected_end,
            d.predecessor_id,
        )
        .outerjoin(table_of(ActivityDependency), d.activity_id == a.id)
        .where(in_ids(a.order_id, ids, dialect))
        .order_by(a.id, d.predecessor_id)
    ):
        await turns.take()
        listed = tree.activities[activity.order_id]
        if not listed or listed[-1].id != activity.id:
            listed.append(activity)
        if activity.predecessor_id is not None:
            tree.preds[activity.id].append(activity.predecessor_id)
    if any(tree.party_orders.get(oid) for oid in ids):  # only an order with party orders has activities waiting on them
        w = table_of(ActivityPartyDependency).c
        for activity_id, party_order_id in await session.execute(
            select(w.activity_id, w.party_order_id)
            .join(table_of(Activity), a.id == w.activity_id)
            .where(in_ids(a.order_id, ids, dialect))
            .order_by(w.activity_id, w.party_order_id)
        ):
            tree.waits[activity_id].append(party_order_id)


async def _read_roll_up(uow: UnitOfWork, tree: Tree, ids: list[int], turns: Turns) -> None:
    """What rolling these orders up reads besides their activities (read already): their items and
    every unit of their work, into ``tree``."""
    session, dialect = uow.session, uow.dialect
    i = table_of(OrderItem).c
    for item in await session.execute(
        select(i.id, i.order_id, i.parent_id, i.state, i.fulfillment).where(in_ids(i.order_id, ids, dialect)).order_by(i.id)
    ):
        await turns.take()
        tree.items[item.order_id].append(item)
    for oid in ids:
        await turns.take()
        tree.units[oid] += [work.activity_unit(act) for act in tree.activities.get(oid, ())]
    kinds = [work.SERVICE_ORDER_REQUESTS] + ([PARTY_ORDERS] if any(tree.party_orders.get(oid) for oid in ids) else [])
    for unit in await work.units_of(session, kinds, ids, dialect):
        tree.units[unit.order_id].append(unit)


def _roll_up_items(items: list[AnyRow], units: list[work.WorkUnit], moves: Moves) -> dict[int, str]:
    """Every item's state after the roll-up (children first); the changed ones go into ``moves``."""
    own: dict[int | None, list[work.WorkUnit]] = defaultdict(list)
    for unit in units:
        own[unit.item_id].append(unit)
    children: dict[int | None, list[AnyRow]] = defaultdict(list)
    for item in items:
        children[item.parent_id].append(item)
    state: dict[int, str] = {}

    def settle(item: AnyRow) -> None:
        for child in children[item.id]:
            settle(child)
        kids = [state[c.id] for c in children[item.id]]
        state[item.id] = work.rolled_up_item(item.state, own[item.id], kids, by_party=item.fulfillment == "party")
        if state[item.id] != item.state:
            moves.items[item.id] = state[item.id]

    for root in children[None]:
        settle(root)
    return state


def _settle_order_state(order: AnyRow, item_states: dict[int, str], tree: Tree, moves: Moves) -> None:
    steps = moves.orders[order.id]
    if order.state == "pendingCancellation":
        if not any(po.state == "pendingCancellation" for po in tree.party_orders[order.id]):
            steps.append(("cancelled", "every party confirmed the cancellation"))
            moves.cancelled.append(order.id)
        return
    units = tree.units[order.id]
    states_now = list(item_states.values())
    started = any(u.done or (u.open and u.started) for u in units) or any(s not in NOT_STARTED_ITEM for s in states_now)
    current = order.state
    if current == "acknowledged" and started:
        steps.append(("inProgress", "provisioning started"))
        current = "inProgress"
    finished = bool(states_now) and all(not states.ITEM.is_open(s) for s in states_now) and "completed" in states_now
    if finished and current in COMPLETES_FROM:
        if current != "inProgress":
            steps.append(("inProgress", "provisioning started"))
        steps.append(("completed", "all items completed"))


def needed_by(given: bool, current: datetime, committed: datetime) -> datetime:
    """An open party order is needed by the committed date, or by the earlier date staff gave."""
    return min(current, committed) if given else committed


def _deliveries(tree: Tree, order_id: int, moves: Moves) -> dict[int, list[datetime]]:
    """When the party orders this order's activities wait on deliver (see ``schedule.deliveries``),
    with the needed-by dates as just settled."""
    if not tree.waits or not tree.party_orders.get(order_id):
        return {}
    waits = {a.id: tree.waits[a.id] for a in tree.activities[order_id] if a.id in tree.waits}  # this order's alone
    return schedule.deliveries(waits, tree.party_orders[order_id], moves.needed_by)


def _settle_dates(order: AnyRow, tree: Tree, moves: Moves) -> None:
    for po in tree.party_orders[order.id]:
        if party_states.PARTY_ORDER.is_open(po.state):
            target = needed_by(po.needed_by_given, po.needed_by, order.committed_date)
            if target != po.needed_by:
                moves.needed_by[po.id] = target
    waits = _deliveries(tree, order.id, moves)  # after the needed-by dates: an undated delivery is expected then
    new = schedule.expected_completion(tree.activities[order.id], tree.preds, tree.units[order.id], waits)
    if new != order.expected_completion:
        moves.expected[order.id] = new


async def _at_risk_marks(
    uow: UnitOfWork, tree: Tree, moves: Moves, rolled: Collection[int], policy: Policy, turns: Turns
) -> list[dict[str, Any]]:
    """The open ``rolled`` orders' at-risk instants that moved (bookkeeping for the rule, as its check
    time is: no event), as rows for ``_store_marks``; reads nothing but the parties' names."""
    book = policy.calendars
    names: dict[int, str | None] = {}
    if book.parties:  # a party's name matters only when some party has a calendar of its own
        party_of = {po.id: po.party_id for oid in rolled for po in tree.party_orders[oid]}
        if party_of:
            p = table_of(Party).c
            rows = await uow.session.execute(
                select(p.id, p.name).where(in_ids(p.id, sorted(set(party_of.values())), uow.dialect))
            )
            by_id: dict[int, str] = dict(rows.all())  # the rows, not the result: a result has keys() and reads as a mapping
            names = {poid: by_id.get(pid) for poid, pid in party_of.items()}
    marks = []
    for order in tree.orders:
        if order.id not in rolled or not states.ORDER.is_open(order.state) or order.id in moves.cancelled:
            continue
        await turns.take()
        oid = order.id
        calendar = slack.last_worker(
            book, tree.activities[oid], tree.preds, tree.units[oid], names, _deliveries(tree, oid, moves)
        )
        instant = slack.at_risk_from(calendar, order.requested_at, order.committed_date, policy.at_risk_slack)
        if instant != order.at_risk_from:
            marks.append({"id": oid, "at_risk_from": instant})
    return marks


async def _store_marks(uow: UnitOfWork, *kinds: list[dict[str, Any]]) -> None:
    """Store the marks kept on orders (at-risk instants, forecast keys and summaries: rows with an
    ``id`` and the columns to set), each order's row updated once with all of its marks: an update
    of a row writes it and every one of its indexes again, and a sweep's batch marks hundreds."""
    merged: dict[int, dict[str, Any]] = {}
    for marks in kinds:
        for mark in marks:
            merged.setdefault(mark["id"], {}).update(mark)
    if not merged:
        return
    alike: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)  # one statement per set of columns
    for mark in merged.values():
        alike[tuple(mark)].append(mark)
    for rows in alike.values():
        await update_by_id(uow.session, table_of(CustomerOrder), rows, uow.dialect)
    show_stored(uow.session, CustomerOrder, merged.values())


async def _objects(uow: UnitOfWork, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    """The ORM rows (those this session holds already, the others in one query), by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await uow.session.execute(select(model).where(in_ids(model.id, wanted, uow.dialect)))
    return {row.id: row for row in rows.scalars()}


async def _apply(uow: UnitOfWork, moves: Moves, tree: Tree) -> None:
    """Change the rows and record one event for each thing that moved."""
    cancelled_items = [i.id for oid in moves.cancelled for i in tree.items[oid]]
    items = await _objects(uow, OrderItem, [*moves.items, *cancelled_items])
    for item_id, target in sorted(moves.items.items()):
        work.move_item(uow, items[item_id], target)
    orders = await _objects(uow, CustomerOrder, [oid for oid, steps in moves.orders.items() if steps] + list(moves.expected))
    for oid, new in sorted(moves.expected.items()):
        order = orders[oid]
        before, order.expected_completion = order.expected_completion, new
        uow.record(
            "expectedCompletionChanged",
            entity="order",
            entity_id=oid,
            order_id=oid,
            before={"expected_completion": before},
            after={"expected_completion": new},
        )
    party_orders = await _objects(uow, PartyOrder, moves.needed_by)
    for poid, new_date in sorted(moves.needed_by.items()):
        po = party_orders[poid]
        before, po.needed_by = po.needed_by, new_date
        touch_party(uow, po)
        record_party(
            uow,
            po,
            "partyOrderUpdated",
            before={"needed_by": before},
            after={"needed_by": new_date},
            data={"reason": "follows the customer order's committed date"},
        )
    for oid, steps in sorted(moves.orders.items()):
        for target, reason in steps:
            move_order(uow, orders[oid], target, reason)
    for item_id in cancelled_items:
        if states.ITEM.is_open(items[item_id].state):
            work.move_item(uow, items[item_id], "cancelled")


async def _lower_closed(uow: UnitOfWork, tree: Tree) -> None:
    """A closed order or party order is escalated no more (stored levels as read, recoveries already lowered)."""
    orders = await _objects(uow, CustomerOrder, [o.id for o in tree.orders if o.escalation_level > 0])
    party_orders = await _objects(
        uow, PartyOrder, [p.id for ps in tree.party_orders.values() for p in ps if p.escalation_level > 0]
    )
    for order in orders.values():
        if not states.ORDER.is_open(order.state) and order.escalation_level > 0:
            change_escalation(uow, order, 0, reason=f"closed: the order is {order.state}")
    for po in party_orders.values():
        if not party_states.PARTY_ORDER.is_open(po.state) and po.escalation_level > 0:
            change_escalation(uow, po, 0, reason=f"closed: the party order is {po.state}")


def _forecast_inputs(tree: Tree, moves: Moves, read: Collection[int]) -> list[forecasts.OrderWork]:
    """The open orders' work as the forecast reads it (party orders with the needed-by dates just settled);
    only the ``read`` orders, whose work was read."""
    found = []
    for order in tree.orders:
        if not states.ORDER.is_open(order.state) or order.id in moves.cancelled or order.id not in read:
            continue
        found.append(
            forecasts.OrderWork(
                order, tree.activities[order.id], tree.preds, tree.party_orders[order.id], moves.needed_by, tree.waits
            )
        )
    return found


def _entities(tree: Tree, unread: bool) -> frozenset[str]:
    """The jeopardy rules worth running: those whose rows these orders have (``unread``: some orders'
    activities were not read, so theirs are run as well)."""
    found = {"order"}
    if tree.activities or unread:
        found.add("activity")
    if tree.party_orders:
        found.add("partyOrder")
    return frozenset(found)


def reconciler(policy: Policy) -> Reconciler:
    """What ``Database.reconcile`` runs before every write commits: ``reconcile`` under ``policy``."""

    async def reconcile_under_policy(uow: UnitOfWork, order_ids: set[int]) -> SweepOutcome:
        return await reconcile(uow, order_ids, policy=policy)

    return reconcile_under_policy


async def _settled_tree(
    uow: UnitOfWork, ids: list[int], in_step: frozenset[int], turns: Turns
) -> tuple[Tree, frozenset[int], frozenset[int], Moves]:
    """Steps 1-3 as computation: the orders' tree, the ids of those whose work was read, of those
    rolled up (some of them), and what rolling them up moves (nothing is written)."""
    tree, worked, rolled = await _read(uow, ids, in_step, turns)
    to_roll = frozenset(rolled)
    moves = Moves()
    for order in tree.orders:
        if not states.ORDER.is_open(order.state) or order.id not in to_roll:
            continue
        await turns.take()
        item_states = _roll_up_items(tree.items[order.id], tree.units[order.id], moves)
        _settle_dates(order, tree, moves)
        _settle_order_state(order, item_states, tree, moves)
    return tree, frozenset(worked), to_roll, moves


@dataclass
class Prepared:
    """A reconciliation computed ahead, outside the locks (``begin_prepare``): the tree of ``ids`` as
    read after event ``seq``, what rolling it up moves, the at-risk instants that moved, and the
    forecasts being drawn (by a worker process, perhaps: ``done`` waits for them)."""

    ids: tuple[int, ...]
    in_step: frozenset[int]
    seq: int
    tree: Tree
    read: frozenset[int]
    moves: Moves
    at_risk: list[dict[str, Any]]
    drawing: forecasts.Drawing
    drafts: forecasts.Drafts | None = None  # once done
    # Found unchanged since ``seq`` already, in the transaction that holds these orders' locks.
    checked: bool = False

    @property
    def now(self) -> datetime:
        return self.drawing.now

    async def done(self, policy: Policy, turns: Turns | None = None) -> Prepared:
        """This, its forecasts drawn (``turns``: the caller's, while their rows are made)."""
        if self.drafts is None:
            self.drafts = await forecasts.drafts(self.drawing, policy, turns)
        return self

    def abandon(self) -> None:
        """Not to be used: stop drawing its forecasts."""
        if self.drawing.pending is not None:
            self.drawing.pending.cancel()

    async def stale(self, uow: UnitOfWork, ids: Sequence[int], in_step: frozenset[int]) -> set[int] | None:
        """Of these orders (some of ``ids``: those the batch could lock), the ones changed since it
        read them (every change of an order's data records an event); None: it holds for none of them
        (another instant or orders, or something recorded already in ``uow``'s transaction)."""
        if uow.now != self.now or uow.pending or not set(ids) <= set(self.ids) or in_step != self.in_step & set(ids):
            return None
        if self.checked:
            return set()
        return await changed_since(uow.session, self.seq, ids, uow.dialect)

    def only(self, ids: Collection[int], *, checked: bool = False) -> Prepared:
        """This for these of its orders alone (the others changed, or their batch could not lock them);
        ``checked``: these are known unchanged since it read them (``stale`` need not ask again)."""
        keep, checked = set(ids), checked or self.checked
        if keep == set(self.ids) and checked == self.checked:
            return self
        t, m = self.tree, self.moves
        items = {i.id for oid in keep for i in t.items.get(oid, ())}
        activities = {a.id for oid in keep for a in t.activities.get(oid, ())}
        party_orders = {p.id for oid in keep for p in t.party_orders.get(oid, ())}

        def of(grouped: dict[int, Any], wanted: set[int]) -> defaultdict[int, Any]:
            return defaultdict(list, {k: v for k, v in grouped.items() if k in wanted})

        tree = Tree(
            orders=[o for o in t.orders if o.id in keep],
            items=of(t.items, keep),
            activities=of(t.activities, keep),
            preds=of(t.preds, activities),
            waits=of(t.waits, activities),
            units=of(t.units, keep),
            party_orders=of(t.party_orders, keep),
        )
        moves = Moves(
            items={k: v for k, v in m.items.items() if k in items},
            orders=of(m.orders, keep),
            expected={k: v for k, v in m.expected.items() if k in keep},
            needed_by={k: v for k, v in m.needed_by.items() if k in party_orders},
            cancelled=[oid for oid in m.cancelled if oid in keep],
        )
        drafts = (
            None
            if self.drafts is None
            else forecasts.Drafts(self.drafts.now, {k: v for k, v in self.drafts.drawn.items() if k[0] in keep})
        )
        return Prepared(
            ids=tuple(i for i in self.ids if i in keep),
            in_step=self.in_step & keep,
            seq=self.seq,
            tree=tree,
            read=self.read & keep,
            moves=moves,
            at_risk=[mark for mark in self.at_risk if mark["id"] in keep],
            drawing=self.drawing,
            drafts=drafts,
            checked=checked,
        )


async def changed_since(session: AsyncSession, seq: int, ids: Sequence[int], dialect: str) -> set[int]:
    """Those of these orders with an event after ``seq`` in the log."""
    e = table_of(Event).c
    found = await session.execute(select(e.order_id).where(e.seq > seq, in_ids(e.order_id, ids, dialect)).distinct())
    return set(found.scalars())


async def begin_prepare(
    uow: UnitOfWork,
    order_ids: Iterable[int],
    *,
    policy: Policy,
    in_step: Collection[int] = (),
    pool: DrawingPool | None = None,
) -> Prepared:
    """What a reconciliation of these orders computes at ``uow.now`` before it writes: the read, the
    roll-up, the at-risk instants and the forecasts (drawn in ``pool``'s worker processes when it
    has any), done without writing or locking anything (``uow`` may be read-only). A sweep prepares
    a batch before taking its locks, so writers never wait for that work; ``reconcile`` uses what
    still holds (``Prepared.stale``) and reads the rest afresh."""
    ids = sorted(set(order_ids))
    seq = await last_sequence(uow.session)  # before the reads: a change committed later numbers after it
    turns = Turns(gate=uow.db.writes)  # it locks nothing: this process's writes go first
    steady = frozenset(in_step)
    tree, read, rolled, moves = await _settled_tree(uow, ids, steady, turns)
    at_risk = await _at_risk_marks(uow, tree, moves, rolled, policy, turns)
    drawing = await forecasts.begin_drafts(uow, _forecast_inputs(tree, moves, read), policy, turns, pool)
    return Prepared(tuple(ids), steady, seq, tree, read, moves, at_risk, drawing)


async def reconcile(
    uow: UnitOfWork,
    order_ids: Iterable[int],
    *,
    policy: Policy,
    sweep: bool = False,
    out: SweepOutcome | None = None,
    in_step: Collection[int] = (),
    prepared: Prepared | None = None,
) -> SweepOutcome:
    """Bring everything derived from these (locked) orders' work in step with it, in ``uow``'s transaction.

    ``sweep``: store every row's next jeopardy check time as well (see ``app/jeopardy/candidates.py``).
    ``in_step``: orders whose work is known unchanged since they were last reconciled (a sweep's
    orders that only time has reached): steps 1-4 read only the rows' data, never the clock, so
    they would move nothing: they are not rolled up, and their items and work are not read (but for
    the activities of those whose forecast is due: drawing it reads them); their levels and
    escalation are settled like the others' (``tests/test_sweep_time_only.py`` compares both ways).
    ``prepared``: this reconciliation computed ahead (``begin_prepare``): used where it still holds,
    and its forecasts wherever an order's inputs are still those they were drawn from.
    """
    out = out if out is not None else SweepOutcome()
    ids = sorted(set(order_ids))
    if not ids:
        return out
    await uow.session.flush()
    turns = Turns()  # a sweep's batch settles hundreds of orders: writers of this process get their turn meanwhile
    steady = frozenset(in_step)
    drafts = (await prepared.done(policy, turns)).drafts if prepared is not None else None
    stale = await prepared.stale(uow, ids, steady) if prepared is not None and drafts is not None else None
    if prepared is not None and stale:  # a writer changed these since: the others as prepared, these read afresh
        kept = [oid for oid in ids if oid not in stale]
        if kept:  # just found unchanged, under their locks: not asked again
            only = prepared.only(kept, checked=True)
            await reconcile(uow, kept, policy=policy, sweep=sweep, out=out, in_step=steady - stale, prepared=only)
        return await reconcile(uow, sorted(stale), policy=policy, sweep=sweep, out=out, in_step=steady & stale)
    if prepared is not None and stale is not None:
        prepared = prepared.only(ids)  # without the orders its batch could not lock
        assert prepared.drafts is not None  # done() drew them, and only() keeps them
        tree, read, moves = prepared.tree, prepared.read, prepared.moves
        await _apply(uow, moves, tree)
        await uow.session.flush()
        # before the levels: a rule reads the forecast
        await _store_marks(uow, prepared.at_risk, await forecasts.store(uow, prepared.drafts))
    else:
        tree, read, rolled, moves = await _settled_tree(uow, ids, steady, turns)
        await _apply(uow, moves, tree)
        await uow.session.flush()
        at_risk = await _at_risk_marks(uow, tree, moves, rolled, policy, turns)
        await _store_marks(uow, at_risk, await forecasts.refresh(uow, _forecast_inputs(tree, moves, read), policy, turns, drafts))
    watched = {("order", o.id): (o.id, o.jeopardy_level) for o in tree.orders}
    watched.update((("partyOrder", p.id), (p.order_id, p.jeopardy_level)) for ps in tree.party_orders.values() for p in ps)
    await settle_levels(
        uow, ids, out, policy=policy, store_checks=sweep, entities=_entities(tree, len(read) < len(ids)), watched=watched
    )
    await _lower_closed(uow, tree)  # after the levels: a row that recovered as it closed was lowered with its recovery
    uow.mark_reconciled(ids)
    return out
