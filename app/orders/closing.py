"""Closing a customer order by hand: cancellation and completion, over every kind of its work."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from app import validation as v
from app.consistency import WORK
from app.db import UnitOfWork
from app.errors import InvalidInput, InvalidTransition
from app.orders import states, work
from app.orders.core import check_version, get_order_for_update, move_order
from app.orders.models import CustomerOrder, OrderItem


async def _items(uow: UnitOfWork, order_id: int) -> list[OrderItem]:
    rows = await uow.session.execute(select(OrderItem).where(col(OrderItem.order_id) == order_id).order_by(col(OrderItem.id)))
    return list(rows.scalars())


async def _cancel_open_work(uow: UnitOfWork, order: CustomerOrder, reason: str) -> bool:
    """Cancel every open piece of work; True if some of it awaits the other side's confirmation."""
    awaiting = False
    for kind in WORK:
        awaiting = await kind.cancel(uow, order, reason) or awaiting
    return awaiting


async def cancel_order(uow: UnitOfWork, order_id: int, reason: str, expected_version: int | None = None) -> CustomerOrder:
    """Cancel an order because its sales request was cancelled; its open work goes with it.

    While a party must confirm the cancellation of its order, the customer order is
    ``pendingCancellation``; the reconciliation cancels it once the last party has confirmed.
    """
    order = await get_order_for_update(uow, order_id)
    check_version(order, expected_version)
    reason_text = v.required_text(reason, "reason", max_len=1000)
    states.ORDER.check(order.state, "cancelled")
    awaiting = await _cancel_open_work(uow, order, reason_text)
    target = "pendingCancellation" if awaiting else "cancelled"
    if order.state != target:
        move_order(uow, order, target, reason_text)
    if target == "cancelled":
        for item in await _items(uow, order_id):
            if states.ITEM.is_open(item.state):
                work.move_item(uow, item, "cancelled", reason_text)
    return order


def _undelivered(items: list[OrderItem], units: list[work.WorkUnit]) -> list[OrderItem]:
    """Open party items that no party order is delivering or has delivered: never ordered, or its party order was dropped."""
    live = {u.item_id for u in units if u.kind == "partyOrder" and not u.dropped}
    return [i for i in items if i.fulfillment == "party" and states.ITEM.is_open(i.state) and i.id not in live]


async def complete_order(
    uow: UnitOfWork, order_id: int, force: bool = False, reason: str | None = None, expected_version: int | None = None
) -> CustomerOrder:
    """Indicate completion. Open work, or a party item nobody delivers, refuses it unless forced with a
    reason: then that work is cancelled, the open items are completed, and the order's
    ``orderStateChanged`` event lists what the forced completion closed."""
    order = await get_order_for_update(uow, order_id)
    check_version(order, expected_version)
    reason = v.text(reason, "reason", max_len=1000)
    if not states.ORDER.is_open(order.state) or order.state == "held":
        states.ORDER.check(order.state, "completed")  # refuses, naming the state and what is allowed
    await uow.session.flush()
    units = await work.units_of(uow.session, WORK, [order_id], uow.dialect)
    items = await _items(uow, order_id)
    open_work = [u for u in units if u.open]
    waiting = _undelivered(items, units)
    if (open_work or waiting) and not force:
        listing = ", ".join(
            [f"{w.kind} {w.id} ({w.state})" for w in open_work[:10]]
            + [f"item {i.id} (waiting for a party order)" for i in waiting[:10]]
        )
        raise InvalidTransition(
            f"Customer order {order_id} still has open work: {listing}. Complete it first, or force with a reason.",
            current=order.state,
            target="completed",
            open_work=[f"{w.kind}:{w.id}" for w in open_work] + [f"item:{i.id}" for i in waiting],
        )
    if (open_work or waiting) and not reason:
        raise InvalidInput("Forcing completion over open work needs a reason.", field="reason")
    if order.state in ("acknowledged", "pending"):
        move_order(uow, order, "inProgress", "completion")
    states.ORDER.check(order.state, "completed")
    closed_items = []
    forced = bool(open_work or waiting)
    if forced:
        await _cancel_open_work(uow, order, f"forced completion: {reason}")
    for item in items:
        if states.ITEM.is_open(item.state) and item.state != "pendingCancellation":
            work.move_item(uow, item, "completed", f"forced completion: {reason}" if forced else None)
            closed_items.append(item.id)
    # What a forced completion closed, on the order's own event.
    details = {"forced": True, "closed_work": [f"{w.kind}:{w.id}" for w in open_work], "closed_items": closed_items}
    move_order(uow, order, "completed", reason, details if forced else None)
    return order
