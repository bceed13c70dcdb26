"""Amending a customer order in flight: add, modify and remove items, as one new revision of the order.

What each change does to an item's work is the table in ``amendment_rules.py``; this module is the one
place it is enforced. An amendment is checked whole before anything is applied: an item past its point
of no return refuses it (AMENDMENT_NOT_ALLOWED, naming each item and why) and nothing changes. An
accepted one raises the order's ``revision`` by one, records an event per change, and leaves the
roll-ups, dates and jeopardy to the reconciliation every write ends with (``app/consistency.py``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app import validation as v
from app.consistency import WORK
from app.db import UnitOfWork
from app.errors import AmendmentNotAllowed, InvalidInput, InvalidTransition
from app.orders import states, work
from app.orders.activities import activity_snapshot, move_activity
from app.orders.amendment_rules import (
    AMENDABLE_ITEM,
    AMENDABLE_ORDER,
    CONSEQUENCES,
    POINT_OF_NO_RETURN,
    Change,
    Consequence,
)
from app.orders.models import Activity, CustomerOrder, OrderItem, ServiceOrderRequest
from app.orders.service import (
    MAX_ITEMS,
    NewItem,
    _add_items,
    _check_parties,
    _validate_items,
    check_version,
    get_order_for_update,
    touch,
)
from app.orders.service_orders import move_request
from app.party_orders import revisions, states as party_states
from app.party_orders.core import cancel_or_ask
from app.party_orders.models import PartyOrder, PartyOrderItem
from app.state_machine import StateMachine

MAX_CHANGES = 100
MACHINES: dict[str, StateMachine] = {
    "activity": states.ACTIVITY,
    "serviceOrderRequest": states.SERVICE_ORDER_REQUEST,
    "partyOrder": party_states.PARTY_ORDER,
}


@dataclass
class ItemAddition:
    """A new item (with its children), at the top of the tree or under ``parent_id``."""

    item: NewItem
    parent_id: int | None = None


@dataclass
class ItemModification:
    """Fields left None are kept; characteristics are merged, ``remove_characteristics`` dropped."""

    item_id: int
    quantity: int | None = None
    characteristics: dict[str, str] | None = None
    remove_characteristics: list[str] | None = None


@dataclass
class ItemRemoval:
    item_id: int
    reason: str


@dataclass
class Amendment:
    add: list[ItemAddition] = field(default_factory=list)
    modify: list[ItemModification] = field(default_factory=list)
    remove: list[ItemRemoval] = field(default_factory=list)


@dataclass(frozen=True)
class Refusal:
    item_id: int
    reason: str


@dataclass(frozen=True)
class Step:
    """One consequence for one unit of an item's work."""

    item_id: int
    change: Change
    unit: work.WorkUnit
    consequence: Consequence


def phase_of(unit: work.WorkUnit) -> str:
    """Where a unit of work stands for an amendment (the phases of ``amendment_rules``)."""
    if unit.done:
        return "done"
    if unit.dropped or not MACHINES[unit.kind].is_open(unit.state):
        return "closed"
    if unit.state == "pendingCancellation":
        return "closing"
    return "started" if unit.started else "planned"


def refusal_message(refusals: list[Refusal]) -> str:
    listing = "; ".join(f"item {r.item_id}: {r.reason}" for r in refusals[:10])
    return f"The amendment cannot be applied, nothing was changed: {listing}."


@dataclass
class _Tree:
    items: dict[int, OrderItem]
    children: dict[int | None, list[OrderItem]]
    units: dict[int | None, list[work.WorkUnit]]

    def subtree(self, item_id: int) -> list[OrderItem]:
        """The item and its descendants, children first."""
        out: list[OrderItem] = []
        for child in self.children.get(item_id, []):
            out += self.subtree(child.id or 0)
        return [*out, self.items[item_id]]

    def depth(self, item_id: int | None) -> int:
        n = 0
        while item_id is not None:
            n, item_id = n + 1, self.items[item_id].parent_id
        return n


async def _tree(uow: UnitOfWork, order_id: int) -> _Tree:
    rows = await uow.session.execute(
        select(OrderItem).where(col(OrderItem.order_id) == order_id).order_by(col(OrderItem.position), col(OrderItem.id))
    )
    items = {i.id or 0: i for i in rows.scalars()}
    children: dict[int | None, list[OrderItem]] = defaultdict(list)
    for item in items.values():
        children[item.parent_id].append(item)
    units: dict[int | None, list[work.WorkUnit]] = defaultdict(list)
    for unit in await work.units_of(uow.session, WORK, [order_id], uow.dialect):
        units[unit.item_id].append(unit)
    return _Tree(items, children, units)


def _validate(order_id: int, tree: _Tree, data: Amendment) -> None:
    """Bad input (INVALID_INPUT), before any point of no return is looked at."""
    if not (data.add or data.modify or data.remove):
        raise InvalidInput("An amendment adds, modifies or removes at least one item.", field="input")
    if len(data.add) + len(data.modify) + len(data.remove) > MAX_CHANGES:
        raise InvalidInput(f"An amendment makes at most {MAX_CHANGES} changes.", field="input")
    named = [m.item_id for m in data.modify] + [r.item_id for r in data.remove]
    for item_id in named:
        if item_id not in tree.items:
            raise InvalidInput(f"Item {item_id} is not an item of customer order {order_id}.", field="itemId")
    if len(set(named)) != len(named):
        raise InvalidInput("Each item is modified or removed once per amendment.", field="itemId")
    for r in data.remove:
        inside = {i.id or 0 for i in tree.subtree(r.item_id)} - {r.item_id}
        if clash := sorted(inside & set(named)):
            raise InvalidInput(f"Item {clash[0]} is removed with item {r.item_id}; do not name it again.", field="itemId")
    for m in data.modify:
        if m.quantity is None and m.characteristics is None and not m.remove_characteristics:
            raise InvalidInput(f"The modification of item {m.item_id} changes nothing.", field="modify")
        if m.quantity is not None and not 1 <= m.quantity <= 1_000_000:
            raise InvalidInput("item quantity must be between 1 and 1000000.", field="modify.quantity")
        v.characteristics(m.characteristics or {}, "modify.characteristics")
        for name in m.remove_characteristics or []:
            if name not in tree.items[m.item_id].characteristics:
                raise InvalidInput(
                    f"Characteristic '{name}' is not set on item {m.item_id}.", field="modify.removeCharacteristics"
                )
    for r in data.remove:
        v.required_text(r.reason, "remove.reason", max_len=1000)
    added = 0
    for a in data.add:
        if a.parent_id is not None and a.parent_id not in tree.items:
            raise InvalidInput(f"Item {a.parent_id} is not an item of customer order {order_id}.", field="add.parentId")
        added += _validate_items([a.item], depth=tree.depth(a.parent_id) + 1)
    if len(tree.items) + added > MAX_ITEMS:
        raise InvalidInput(f"An order holds at most {MAX_ITEMS} items.", field="add")


def plan(tree: _Tree, data: Amendment) -> tuple[list[Step], list[Refusal]]:
    """Every consequence of the amendment, and every refusal; the table decides, item by item."""
    steps: list[Step] = []
    refusals: list[Refusal] = []
    removed = {i.id for r in data.remove for i in tree.subtree(r.item_id)}
    targets = [(m.item_id, Change.MODIFY, [tree.items[m.item_id]]) for m in data.modify]
    targets += [(r.item_id, Change.REMOVE, tree.subtree(r.item_id)) for r in data.remove]
    for named, change, items in targets:
        for item in items:
            item_id = item.id or 0
            if item.state not in AMENDABLE_ITEM:
                if (
                    change is Change.REMOVE
                    and item.id != named
                    and not states.ITEM.is_open(item.state)
                    and item.state != "completed"
                ):
                    continue  # a child that was cancelled or rejected already goes with its parent as it is
                passed = [
                    POINT_OF_NO_RETURN[u.kind].format(id=u.id) for u in tree.units.get(item_id, []) if phase_of(u) == "done"
                ]
                refusals.append(Refusal(item_id, "; ".join([f"the item is {item.state}", *passed])))
                continue
            for unit in tree.units.get(item_id, []):
                consequence = CONSEQUENCES[(unit.kind, phase_of(unit), change)]
                if consequence is Consequence.REFUSE:
                    refusals.append(Refusal(item_id, POINT_OF_NO_RETURN[unit.kind].format(id=unit.id)))
                elif consequence is not Consequence.NONE:
                    steps.append(Step(item_id, change, unit, consequence))
    for a in data.add:
        if a.parent_id is None:
            continue
        parent = tree.items[a.parent_id]
        if a.parent_id in removed:
            refusals.append(Refusal(a.parent_id, "it is removed by the same amendment, so it takes no new child"))
        elif parent.state not in AMENDABLE_ITEM:
            refusals.append(Refusal(a.parent_id, f"the item is {parent.state}, so it takes no new child"))
    return steps, refusals


async def amend_order(uow: UnitOfWork, order_id: int, expected_version: int | None, data: Amendment) -> CustomerOrder:
    """Apply an amendment as one new revision of the order, or refuse it whole."""
    order = await get_order_for_update(uow, order_id)
    check_version(order, expected_version)
    if order.state not in AMENDABLE_ORDER:
        raise InvalidTransition(f"Customer order {order_id} is {order.state}; it can no longer be amended.", current=order.state)
    await uow.session.flush()
    tree = await _tree(uow, order_id)
    _validate(order_id, tree, data)
    await _check_parties(uow, [a.item for a in data.add])
    steps, refusals = plan(tree, data)
    if refusals:
        first = refusals[0]
        raise AmendmentNotAllowed(
            refusal_message(refusals),
            item_id=str(first.item_id),
            reason=first.reason,
            refusals=[{"itemId": str(r.item_id), "reason": r.reason} for r in refusals],
        )
    removed_ids = {i.id for r in data.remove for i in tree.subtree(r.item_id)}
    left = [i for i in tree.items.values() if i.id not in removed_ids and states.ITEM.is_open(i.state)]
    if not left and not data.add:
        raise InvalidInput("An amendment cannot remove every open item; cancel the order instead.", field="remove")
    order.revision += 1
    touch(uow, order)
    revision = order.revision
    summary: dict[str, list[Any]] = {"added": [], "modified": [], "removed": []}
    for addition in data.add:
        summary["added"] += await _add(uow, order_id, tree, addition, revision)
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in data.modify:
        own = [s for s in steps if s.item_id == m.item_id]
        summary["modified"].append(_modify(uow, tree.items[m.item_id], m, revision, own, lines))
    removals = {r.item_id: r for r in data.remove}
    for r in data.remove:
        for item in tree.subtree(r.item_id):
            if item.state in AMENDABLE_ITEM:
                _lines_for_removal(item, [s for s in steps if s.item_id == item.id], lines)
    await _apply_work(uow, steps, revision, tree)
    awaiting = await _apply_party_orders(uow, lines, revision)
    for r in data.remove:
        for item in tree.subtree(r.item_id):
            if item.state in AMENDABLE_ITEM:
                # Its party must first confirm: now asked, or asked already (a cancellation in flight).
                confirming = item.id in awaiting or any(phase_of(u) == "closing" for u in tree.units.get(item.id, []))
                summary["removed"].append(_remove(uow, item, removals[r.item_id].reason, revision, confirming))
    uow.record(
        "orderAmended",
        entity="order",
        entity_id=order_id,
        order_id=order_id,
        before={"revision": revision - 1},
        after={"revision": revision},
        data=summary,
    )
    return order


async def _add(uow: UnitOfWork, order_id: int, tree: _Tree, addition: ItemAddition, revision: int) -> list[int]:
    siblings = tree.children.get(addition.parent_id, [])
    created = await _add_items(uow, order_id, [addition.item], parent_id=addition.parent_id)
    created[0].position = max((s.position for s in siblings), default=-1) + 1
    for row in created:
        uow.record(
            "itemAdded",
            entity="item",
            entity_id=row.id or 0,
            order_id=order_id,
            after={
                "product_ref": row.product_ref,
                "action": row.action,
                "quantity": row.quantity,
                "fulfillment": row.fulfillment,
                "party_id": row.party_id,
                "parent_id": row.parent_id,
                "characteristics": row.characteristics,
            },
            data={"revision": revision},
        )
    return [row.id or 0 for row in created]


def _modify(
    uow: UnitOfWork,
    item: OrderItem,
    m: ItemModification,
    revision: int,
    steps: list[Step],
    lines: dict[int, list[dict[str, Any]]],
) -> int:
    before = {"quantity": item.quantity, "characteristics": dict(item.characteristics)}
    merged = {**item.characteristics, **v.characteristics(m.characteristics or {})}
    for name in m.remove_characteristics or []:
        merged.pop(name, None)
    item.characteristics = v.characteristics(merged)
    if m.quantity is not None:
        item.quantity = m.quantity
    item.updated_at = uow.now
    after = {"quantity": item.quantity, "characteristics": item.characteristics}
    changed = [k for k in after if after[k] != before[k]]
    if not changed:
        raise InvalidInput(f"The modification of item {item.id} changes nothing.", field="modify")
    uow.record(
        "itemModified",
        entity="item",
        entity_id=item.id or 0,
        order_id=item.order_id,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
        data={"revision": revision},
    )
    line = {
        "item_id": item.id,
        "product_ref": item.product_ref,
        "change": "modify",
        "quantity": item.quantity,
        "previous_quantity": before["quantity"],
        "characteristics": item.characteristics,
    }
    for po_id in sorted({s.unit.id for s in steps if s.consequence is Consequence.REVISE}):
        lines[po_id].append(line)
    return item.id or 0


def _lines_for_removal(item: OrderItem, steps: list[Step], lines: dict[int, list[dict[str, Any]]]) -> None:
    for step in steps:
        if step.consequence is Consequence.DROP_LINE:
            lines[step.unit.id].append(
                {
                    "item_id": item.id,
                    "product_ref": item.product_ref,
                    "change": "delete",
                    "quantity": 0,
                    "previous_quantity": item.quantity,
                    "characteristics": item.characteristics,
                }
            )


def _reason(revision: int, text: str) -> str:
    return f"amendment (revision {revision}): {text}"


async def _apply_work(uow: UnitOfWork, steps: list[Step], revision: int, tree: _Tree) -> None:
    """Activities and service order requests, as the table says."""
    ids = {kind: sorted({s.unit.id for s in steps if s.unit.kind == kind}) for kind in ("activity", "serviceOrderRequest")}
    found_activities = await uow.session.execute(select(Activity).where(col(Activity.id).in_(ids["activity"])))
    activities = {a.id: a for a in found_activities.scalars()}
    found_requests = await uow.session.execute(
        select(ServiceOrderRequest).where(col(ServiceOrderRequest.id).in_(ids["serviceOrderRequest"]))
    )
    requests = {r.id: r for r in found_requests.scalars()}
    for step in steps:
        what = "item modified" if step.change is Change.MODIFY else "item removed"
        if step.unit.kind == "activity":
            activity = activities[step.unit.id]
            if step.consequence is Consequence.CANCEL:
                move_activity(uow, activity, "cancelled", _reason(revision, what))
            elif step.consequence is Consequence.RESCHEDULE:
                _replan(uow, activity, revision)
        elif step.unit.kind == "serviceOrderRequest":
            request = requests[step.unit.id]
            if step.consequence is Consequence.CANCEL:
                move_request(uow, request, "cancelled", _reason(revision, what))
            elif step.consequence is Consequence.SUPPLEMENT:
                item = tree.items[step.item_id]
                request.supplement += 1
                request.updated_at = uow.now
                uow.record(
                    "serviceOrderSupplemented",
                    entity="serviceOrderRequest",
                    entity_id=request.id or 0,
                    order_id=request.order_id,
                    after={
                        "supplement": request.supplement,
                        "quantity": item.quantity,
                        "characteristics": item.characteristics,
                    },
                    data={"revision": revision},
                )


def _replan(uow: UnitOfWork, activity: Activity, revision: int) -> None:
    """Re-plan started work for the changed item from now on, keeping its planned duration."""
    before = activity_snapshot(activity)
    duration: timedelta = activity.planned_end - activity.planned_start
    activity.planned_end = max(activity.planned_end, uow.now + duration)
    if activity.state == "planned":
        activity.planned_start = activity.planned_end - duration
    old = {k: v for k, v in before.items() if v != activity_snapshot(activity)[k]}
    activity.version += 1
    activity.updated_at = uow.now
    uow.record(
        "activityRescheduled",
        entity="activity",
        entity_id=activity.id or 0,
        order_id=activity.order_id,
        before={k: before[k] for k in old},
        after={k: activity_snapshot(activity)[k] for k in old},
        data={"revision": revision, "reason": _reason(revision, "item modified")},
    )


async def _apply_party_orders(uow: UnitOfWork, lines: dict[int, list[dict[str, Any]]], revision: int) -> set[int]:
    """Each party order with changed lines: a new revision, or its cancellation when no line is left.

    Returns the removed items whose party order must first confirm its cancellation.
    """
    if not lines:
        return set()
    rows = await uow.session.execute(
        select(PartyOrder).where(col(PartyOrder.id).in_(sorted(lines))).order_by(col(PartyOrder.id)).with_for_update()
    )
    awaiting: set[int] = set()
    for po in rows.scalars():
        changed = lines[po.id or 0]
        links = set(
            (
                await uow.session.execute(select(col(PartyOrderItem.item_id)).where(col(PartyOrderItem.party_order_id) == po.id))
            ).scalars()
        )
        dropped = {line["item_id"] for line in changed if line["change"] == "delete"}
        if dropped and not links - dropped:
            await revisions.supersede_open(uow, po)
            reason = _reason(revision, "no longer wanted: items " + ", ".join(str(i) for i in sorted(dropped)))
            if cancel_or_ask(uow, po, reason):
                awaiting |= dropped
        else:
            await revisions.revise(uow, po, changed, revision)
    return awaiting


def _remove(uow: UnitOfWork, item: OrderItem, reason: str, revision: int, awaiting: bool) -> int:
    text = _reason(revision, v.required_text(reason, "remove.reason", max_len=1000))
    work.move_item(uow, item, "pendingCancellation" if awaiting else "cancelled", text)
    uow.record(
        "itemRemoved",
        entity="item",
        entity_id=item.id or 0,
        order_id=item.order_id,
        after={"state": item.state},
        data={"revision": revision, "reason": reason},
    )
    return item.id or 0
