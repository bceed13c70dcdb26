"""What keeps an order consistent: one reconciliation of everything derived from a customer order's work.

Every write transaction ends here (``UnitOfWork.settle``, handed this function by the app factory)
for each customer order it recorded an event about, and every jeopardy sweep calls it for the orders
whose time came. For each order, in this order:

1. each item's state, rolled up from its own work and its children (``work.rolled_up_item``);
2. the order's state: in progress once work started, completed once every item is closed and
   something was done, cancelled once the last party confirmed a pending cancellation;
3. its expected completion: the critical path of its work, done work at its actual end, dropped
   work not at all (``schedule.expected_completion``);
4. the needed-by date of its open party orders: the committed date, unless staff gave an earlier one;
5. the jeopardy levels and reasons of the order, its activities and party orders (the set-based
   rules of ``app/jeopardy``), escalation by policy, and escalation lowered to 0 when the order or
   party order closes or recovers.

Each thing that moves records one event; what does not move records nothing. The mutation's
answer shows the result, because the rows it returns are the ones changed here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app.db import UnitOfWork, in_ids
from app.jeopardy.policy import Policy
from app.jeopardy.service import SweepOutcome, change_escalation, settle_levels
from app.orders import schedule, states, work
from app.orders.models import Activity, ActivityDependency, CustomerOrder, OrderItem
from app.orders.service import move_order
from app.party_orders import states as party_states
from app.party_orders.core import record as record_party, touch as touch_party
from app.party_orders.models import PartyOrder
from app.party_orders.work import PARTY_ORDERS

# Every kind of work a customer order has, the one list of them.
WORK: tuple[work.Kind, ...] = (work.ACTIVITIES, work.SERVICE_ORDER_REQUESTS, PARTY_ORDERS)
# Order states from which the roll-up completes an order (a held or cancelling order waits for staff).
COMPLETES_FROM = frozenset({"acknowledged", "inProgress", "pending"})


@dataclass
class Tree:
    """What the reconciliation reads of a set of orders, grouped by order."""

    orders: list[CustomerOrder]
    items: dict[int, list[OrderItem]] = field(default_factory=lambda: defaultdict(list))
    activities: dict[int, list[Activity]] = field(default_factory=lambda: defaultdict(list))
    preds: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    units: dict[int, list[work.WorkUnit]] = field(default_factory=lambda: defaultdict(list))
    party_orders: dict[int, list[PartyOrder]] = field(default_factory=lambda: defaultdict(list))


async def _read(uow: UnitOfWork, ids: Sequence[int]) -> Tree:
    session, dialect = uow.session, uow.dialect
    orders = list((await session.execute(
        select(CustomerOrder).where(in_ids(CustomerOrder.id, ids, dialect)).order_by(CustomerOrder.id)
    )).scalars())
    tree = Tree(orders=orders)
    for item in (await session.execute(
        select(OrderItem).where(in_ids(OrderItem.order_id, ids, dialect)).order_by(OrderItem.id)
    )).scalars():
        tree.items[item.order_id].append(item)
    for activity in (await session.execute(
        select(Activity).where(in_ids(Activity.order_id, ids, dialect)).order_by(Activity.id)
    )).scalars():
        tree.activities[activity.order_id].append(activity)
    if tree.activities:
        rows = await session.execute(
            select(ActivityDependency.activity_id, ActivityDependency.predecessor_id)
            .join(Activity, Activity.id == ActivityDependency.activity_id)
            .where(in_ids(Activity.order_id, ids, dialect))
        )
        for activity_id, predecessor_id in rows:
            tree.preds[activity_id].append(predecessor_id)
    for po in (await session.execute(
        select(PartyOrder).where(in_ids(PartyOrder.order_id, ids, dialect)).order_by(PartyOrder.id)
    )).scalars():
        tree.party_orders[po.order_id].append(po)
    for order_id, activities in tree.activities.items():
        tree.units[order_id] += [work.activity_unit(a) for a in activities]
    kinds = [work.SERVICE_ORDER_REQUESTS] + ([PARTY_ORDERS] if tree.party_orders else [])
    for unit in await work.units_of(session, kinds, ids, dialect):
        tree.units[unit.order_id].append(unit)
    return tree


def _roll_up_items(uow: UnitOfWork, items: list[OrderItem], units: list[work.WorkUnit]) -> None:
    own: dict[int | None, list[work.WorkUnit]] = defaultdict(list)
    for unit in units:
        own[unit.item_id].append(unit)
    children: dict[int | None, list[OrderItem]] = defaultdict(list)
    for item in items:
        children[item.parent_id].append(item)

    def settle(item: OrderItem) -> None:
        for child in children[item.id]:
            settle(child)
        target = work.rolled_up_item(item.state, own[item.id], [c.state for c in children[item.id]])
        if target != item.state:
            work.move_item(uow, item, target)

    for root in children[None]:
        settle(root)


def _settle_order_state(uow: UnitOfWork, order: CustomerOrder, tree: Tree) -> None:
    items = tree.items[order.id or 0]
    if order.state == "pendingCancellation":
        if not any(po.state == "pendingCancellation" for po in tree.party_orders[order.id or 0]):
            move_order(uow, order, "cancelled", "every party confirmed the cancellation")
            for item in items:
                if states.ITEM.is_open(item.state):
                    work.move_item(uow, item, "cancelled")
        return
    units = tree.units[order.id or 0]
    started = any(u.done or (u.open and u.started) for u in units) or any(i.state != "acknowledged" for i in items)
    if order.state == "acknowledged" and started:
        move_order(uow, order, "inProgress", "provisioning started")
    finished = bool(items) and all(not states.ITEM.is_open(i.state) for i in items) and any(i.state == "completed" for i in items)
    if finished and order.state in COMPLETES_FROM:
        if order.state != "inProgress":
            move_order(uow, order, "inProgress", "provisioning started")
        move_order(uow, order, "completed", "all items completed")


def _settle_expected_completion(uow: UnitOfWork, order: CustomerOrder, tree: Tree) -> None:
    oid = order.id or 0
    new = schedule.expected_completion(tree.activities[oid], tree.preds, tree.units[oid])
    if new == order.expected_completion:
        return
    before, order.expected_completion = order.expected_completion, new
    uow.record(
        "expectedCompletionChanged", entity="order", entity_id=oid, order_id=oid,
        before={"expected_completion": before}, after={"expected_completion": new},
    )


def needed_by(po: PartyOrder, committed: datetime) -> datetime:
    """An open party order is needed by the committed date, or by the earlier date staff gave."""
    return min(po.needed_by, committed) if po.needed_by_given else committed


def _settle_needed_by(uow: UnitOfWork, order: CustomerOrder, tree: Tree) -> None:
    for po in tree.party_orders[order.id or 0]:
        if not party_states.PARTY_ORDER.is_open(po.state):
            continue
        new = needed_by(po, order.committed_date)
        if new != po.needed_by:
            before, po.needed_by = po.needed_by, new
            touch_party(uow, po)
            record_party(uow, po, "partyOrderUpdated", before={"needed_by": before}, after={"needed_by": new},
                         data={"reason": "follows the customer order's committed date"})


def _lower_closed(uow: UnitOfWork, tree: Tree) -> None:
    """A closed order or party order is escalated no more."""
    for order in tree.orders:
        if not states.ORDER.is_open(order.state) and order.escalation_level > 0:
            change_escalation(uow, order, 0, reason=f"closed: the order is {order.state}")
        for po in tree.party_orders[order.id or 0]:
            if not party_states.PARTY_ORDER.is_open(po.state) and po.escalation_level > 0:
                change_escalation(uow, po, 0, reason=f"closed: the party order is {po.state}")


def _entities(tree: Tree) -> frozenset[str]:
    """The jeopardy rules worth running: those whose rows these orders have."""
    found = {"order"}
    if tree.activities:
        found.add("activity")
    if tree.party_orders:
        found.add("partyOrder")
    return frozenset(found)


async def reconcile(
    uow: UnitOfWork, order_ids: Iterable[int], *, policy: Policy | None = None, sweep: bool = False,
    out: SweepOutcome | None = None,
) -> SweepOutcome:
    """Bring everything derived from these (locked) orders' work in step with it, in ``uow``'s transaction.

    ``sweep``: store every row's next jeopardy check time as well (see ``app/jeopardy/candidates.py``).
    """
    out = out if out is not None else SweepOutcome()
    ids = sorted(set(order_ids))
    if not ids:
        return out
    await uow.session.flush()
    tree = await _read(uow, ids)
    for order in tree.orders:
        if not states.ORDER.is_open(order.state):
            continue
        _roll_up_items(uow, tree.items[order.id or 0], tree.units[order.id or 0])
        _settle_expected_completion(uow, order, tree)
        _settle_needed_by(uow, order, tree)
        _settle_order_state(uow, order, tree)
    await uow.session.flush()
    watched = [*tree.orders, *(po for pos in tree.party_orders.values() for po in pos)]
    await settle_levels(uow, ids, out, policy=policy, store_checks=sweep, entities=_entities(tree), watched=watched)
    _lower_closed(uow, tree)  # after the levels: a row that recovered as it closed was lowered with its recovery
    uow.mark_reconciled(ids)
    return out
