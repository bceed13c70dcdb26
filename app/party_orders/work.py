"""Party orders as work of their customer order: each delivers items, and cancels with it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

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
        select(
            col(po.id),
            col(po.order_id),
            col(PartyOrderItem.item_id),
            col(po.state),
            col(po.acknowledged_at),
            col(po.expected_delivery),
            col(po.delivered_at),
        )
        .join(PartyOrderItem, col(PartyOrderItem.party_order_id) == col(po.id))
        .where(in_ids(col(po.order_id), order_ids, dialect))
        .order_by(col(po.id), col(PartyOrderItem.item_id))
    )
    return [
        work.WorkUnit(
            "partyOrder",
            po_id or 0,
            order_id,
            item_id,
            state,
            state in states.DONE,
            state in states.DROPPED,
            acknowledged_at is not None,
            expected_end=expected,
            actual_end=delivered,
        )
        for po_id, order_id, item_id, state, acknowledged_at, expected, delivered in rows
    ]


async def cancel_party_orders(uow: UnitOfWork, order: CustomerOrder, reason: str) -> bool:
    """Cancel unacknowledged party orders outright; ask acknowledged ones (True: some must confirm)."""
    rows = await uow.session.execute(
        select(PartyOrder).where(col(PartyOrder.order_id) == order.id).order_by(col(PartyOrder.id)).with_for_update()
    )
    awaiting = False
    for po in rows.scalars():
        if not states.PARTY_ORDER.is_open(po.state):
            continue
        asked = po.state == "pendingCancellation" or cancel_or_ask(uow, po, reason)
        awaiting = awaiting or asked
    return awaiting


PARTY_ORDERS = work.Kind("partyOrder", party_order_units, cancel_party_orders)
