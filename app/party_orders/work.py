"""Party orders as work of their customer order: completion rolls up, cancellation cascades."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UnitOfWork
from app.orders import work
from app.orders.models import CustomerOrder
from app.party_orders import states
from app.party_orders.core import move_party_order, record
from app.party_orders.models import PartyOrder, PartyOrderItem


async def party_order_work(session: AsyncSession, order_id: int) -> list[work.WorkUnit]:
    """One unit per (party order, item delivered), so each item completes with its party order."""
    rows = await session.execute(
        select(PartyOrder.id, PartyOrderItem.item_id, PartyOrder.state, PartyOrder.acknowledged_at, PartyOrder.expected_delivery)
        .join(PartyOrderItem, PartyOrderItem.party_order_id == PartyOrder.id)
        .where(PartyOrder.order_id == order_id)
        .order_by(PartyOrder.id, PartyOrderItem.item_id)
    )
    return [
        work.WorkUnit(
            "partyOrder", po_id, item_id, state, state in states.DONE, state in states.DROPPED,
            acknowledged_at is not None, expected_end=expected,
        )
        for po_id, item_id, state, acknowledged_at, expected in rows
    ]


async def cancel_party_orders(uow: UnitOfWork, order: CustomerOrder, reason: str) -> bool:
    """Cancel unacknowledged party orders outright; ask acknowledged ones (True: some must confirm)."""
    rows = await uow.session.execute(
        select(PartyOrder).where(PartyOrder.order_id == order.id).order_by(PartyOrder.id).with_for_update()
    )
    awaiting = False
    for po in rows.scalars():
        if not states.PARTY_ORDER.is_open(po.state):
            continue
        if po.state == "pendingCancellation":
            awaiting = True
        elif po.acknowledged_at is None:
            move_party_order(uow, po, "cancelled", reason)
        else:
            move_party_order(uow, po, "pendingCancellation", reason)
            record(uow, po, "partyOrderCancellationRequested", data={"reason": reason})
            awaiting = True
    return awaiting


work.register(party_order_work, cancel_party_orders)
