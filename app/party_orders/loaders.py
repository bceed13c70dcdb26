"""DataLoaders for party orders, keyed so that the customer order tree stays one query per level."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import col
from strawberry.dataloader import DataLoader

from app.db import Database
from app.loaders import by_id, grouped
from app.orders.models import OrderItem
from app.party_orders.models import (
    Party,
    PartyChangeRequest,
    PartyCheckIn,
    PartyMilestone,
    PartyOrder,
    PartyOrderItem,
    PartyOrderRevision,
    PartyProgressReport,
)


def parties_by_id(db: Database) -> DataLoader[int, Party | None]:
    return by_id(db, Party)


def party_orders_by_order(db: Database) -> DataLoader[int, list[PartyOrder]]:
    return grouped(db, PartyOrder, PartyOrder.order_id, order_by=(PartyOrder.id,))


def links_by_order(db: Database) -> DataLoader[int, list[PartyOrderItem]]:
    """Which item each party order of a customer order delivers (for OrderItem.partyOrders)."""
    return grouped(db, PartyOrderItem, PartyOrderItem.order_id, order_by=(PartyOrderItem.party_order_id, PartyOrderItem.item_id))


def items_by_party_order(db: Database) -> DataLoader[int, list[OrderItem]]:
    async def load(keys: Sequence[int]) -> list[list[OrderItem]]:
        groups: dict[int, list[OrderItem]] = defaultdict(list)
        async with db.read() as session:
            rows = await session.execute(
                select(col(PartyOrderItem.party_order_id), OrderItem)
                .join(OrderItem, col(OrderItem.id) == col(PartyOrderItem.item_id))
                .where(col(PartyOrderItem.party_order_id).in_(keys))
                .order_by(col(OrderItem.id))
            )
            for party_order_id, item in rows:
                groups[party_order_id].append(item)
        return [groups.get(k, []) for k in keys]

    return DataLoader(load)


def milestones_by_party_order(db: Database) -> DataLoader[int, list[PartyMilestone]]:
    return grouped(db, PartyMilestone, PartyMilestone.party_order_id, order_by=(PartyMilestone.planned_date, PartyMilestone.id))


def reports_by_party_order(db: Database) -> DataLoader[int, list[PartyProgressReport]]:
    return grouped(db, PartyProgressReport, PartyProgressReport.party_order_id, order_by=(PartyProgressReport.id,))


def check_ins_by_party_order(db: Database) -> DataLoader[int, list[PartyCheckIn]]:
    return grouped(db, PartyCheckIn, PartyCheckIn.party_order_id, order_by=(PartyCheckIn.at, PartyCheckIn.id))


def change_requests_by_party_order(db: Database) -> DataLoader[int, list[PartyChangeRequest]]:
    return grouped(db, PartyChangeRequest, PartyChangeRequest.party_order_id, order_by=(PartyChangeRequest.id,))


def revisions_by_party_order(db: Database) -> DataLoader[int, list[PartyOrderRevision]]:
    return grouped(db, PartyOrderRevision, PartyOrderRevision.party_order_id, order_by=(PartyOrderRevision.revision,))
