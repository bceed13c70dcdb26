"""DataLoaders for the customer order tree: every nested list is one query per request level."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from app.db import Database
from app.loaders import by_id, grouped
from app.orders.models import Activity, ActivityDependency, CustomerOrder, OrderItem, OrderNote, ServiceOrderRequest


def orders_by_id(db: Database) -> DataLoader[int, CustomerOrder | None]:
    return by_id(db, CustomerOrder)


def items_by_order(db: Database) -> DataLoader[int, list[OrderItem]]:
    return grouped(db, OrderItem, OrderItem.order_id, order_by=(OrderItem.parent_id, OrderItem.position, OrderItem.id))


def activities_by_order(db: Database) -> DataLoader[int, list[Activity]]:
    return grouped(db, Activity, Activity.order_id, order_by=(Activity.planned_start, Activity.id))


def service_order_requests_by_order(db: Database) -> DataLoader[int, list[ServiceOrderRequest]]:
    return grouped(db, ServiceOrderRequest, ServiceOrderRequest.order_id, order_by=(ServiceOrderRequest.id,))


def notes_by_order(db: Database) -> DataLoader[int, list[OrderNote]]:
    return grouped(db, OrderNote, OrderNote.order_id, order_by=(OrderNote.id,))


def predecessor_ids_by_activity(db: Database) -> DataLoader[int, list[int]]:
    async def load(keys: Sequence[int]) -> list[list[int]]:
        groups: dict[int, list[int]] = defaultdict(list)
        async with db.read() as session:
            rows = await session.execute(
                select(ActivityDependency.activity_id, ActivityDependency.predecessor_id)
                .where(ActivityDependency.activity_id.in_(keys))
                .order_by(ActivityDependency.predecessor_id)
            )
            for activity_id, predecessor_id in rows:
                groups[activity_id].append(predecessor_id)
        return [groups.get(k, []) for k in keys]

    return DataLoader(load)
