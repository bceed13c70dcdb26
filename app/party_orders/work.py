"""Party orders as work of their customer order: each delivers items, and cancels with it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UnitOfWork, in_ids
from app.orders import work
from app.orders.models import CustomerOrder
from app.party_orders import states
from app.party_orders.core import cancel_or_ask
from app.party_orders.models import PartyOrder, PartyOrderItem


async def party_order_units(session: AsyncSession, order_ids: Sequence[int], dialect: str) -> list[work.WorkUnit]:
    """One unit per (party order, item delivered), so each item completes with its party order."""
    po = PartyOrder
    rows = await session.execute(
        select(po.id, po.order_id, PartyOrderItem.item_id, po.state, po.acknowledged_at, po.expected_delivery, po.delivered_at)
        .join(PartyOrderItem, PartyOrderItem.party_order_id == po.id)
        .where(in_ids(po.order_id, order_ids, dialect))
        .order_by(po.id, PartyOrderItem.item_id)
    )
    return [
        work.WorkUnit(
            "partyOrder", po_id, order_id, item_id, state, state in states.DONE, state in states.DROPPED,
            acknowledged_at is not None, expected_end=expected, actual_end=delivered,
        )
        for po_id, order_id, item_id, state, acknowledged_at, expected, delivered in rows
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
        asked = po.state == "pendingCancellation" or cancel_or_ask(uow, po, reason)
        awaiting = awaiting or asked
    return awaiting


PARTY_ORDERS = work.Kind("partyOrder", party_order_units, cancel_party_orders)
