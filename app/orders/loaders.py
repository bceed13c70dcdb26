"""DataLoaders for the customer order tree: the whole tree of a batch of orders in one read session."""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlmodel import col
from strawberry.dataloader import DataLoader

from app.columns import table_of
from app.db import Database
from app.loaders import by_id, grouped
from app.orders.models import (
    Activity,
    ActivityDependency,
    ActivityPartyDependency,
    CustomerOrder,
    OrderItem,
    OrderNote,
    ServiceOrderRequest,
)

T = TypeVar("T")


def orders_by_id(db: Database) -> DataLoader[int, CustomerOrder | None]:
    return by_id(db, CustomerOrder)


def notes_by_order(db: Database) -> DataLoader[int, list[OrderNote]]:
    return grouped(db, OrderNote, OrderNote.order_id, order_by=(OrderNote.id,))


class Record:
    """A row as a plain object: reading its attributes is a dict lookup (a SQLAlchemy Row's misses are slow)."""

    def __init__(self, mapping: Any) -> None:
        self.__dict__.update(mapping)

    if TYPE_CHECKING:  # its attributes are the row's columns, known only at run time

        def __getattr__(self, name: str) -> Any: ...


@dataclass
class OrderTree:
    """Everything under a batch of orders, read with one statement per table (rows, not ORM objects)."""

    items: list[Any] = field(default_factory=list)
    activities: list[Any] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    children: dict[int | None, list[Any]] = field(default_factory=lambda: defaultdict(list))
    activities_by_item: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))
    request_by_item: dict[int, Any] = field(default_factory=dict)
    predecessors: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    party_waits: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))  # activity -> party orders it waits on


def order_trees(db: Database) -> DataLoader[int, OrderTree]:
    """Order id -> its tree. Plain rows skip the ORM's per-object cost, which dominates a big tree."""

    async def load(keys: Sequence[int]) -> list[OrderTree]:
        trees = {k: OrderTree() for k in keys}
        items_t, activities_t, requests_t = table_of(OrderItem), table_of(Activity), table_of(ServiceOrderRequest)
        async with db.read() as session:
            items = await session.execute(
                select(items_t)
                .where(items_t.c.order_id.in_(keys))
                .order_by(items_t.c.parent_id, items_t.c.position, items_t.c.id)
            )
            activities = [
                Record(r._mapping)
                for r in await session.execute(
                    select(activities_t)
                    .where(activities_t.c.order_id.in_(keys))
                    .order_by(activities_t.c.planned_start, activities_t.c.id)
                )
            ]
            requests = await session.execute(select(requests_t).where(requests_t.c.order_id.in_(keys)).order_by(requests_t.c.id))
            predecessors: Iterable[tuple[int, int]] = (
                await session.execute(
                    select(col(ActivityDependency.activity_id), col(ActivityDependency.predecessor_id))
                    .where(col(ActivityDependency.activity_id).in_([a.id for a in activities]))
                    .order_by(col(ActivityDependency.predecessor_id))
                )
                if activities
                else []
            )
            party_waits: Iterable[tuple[int, int]] = (
                await session.execute(
                    select(col(ActivityPartyDependency.activity_id), col(ActivityPartyDependency.party_order_id))
                    .where(col(ActivityPartyDependency.activity_id).in_([a.id for a in activities]))
                    .order_by(col(ActivityPartyDependency.party_order_id))
                )
                if activities
                else []
            )
            for row in items:
                item = Record(row._mapping)
                tree = trees[item.order_id]
                tree.items.append(item)
                tree.children[item.parent_id].append(item)
            for activity in activities:
                tree = trees[activity.order_id]
                tree.activities.append(activity)
                if activity.item_id is not None:
                    tree.activities_by_item[activity.item_id].append(activity)
            for row in requests:
                request = Record(row._mapping)
                tree = trees[request.order_id]
                tree.requests.append(request)
                tree.request_by_item.setdefault(request.item_id, request)
            order_of = {a.id: a.order_id for a in activities}
            for activity_id, predecessor_id in predecessors:
                trees[order_of[activity_id]].predecessors[activity_id].append(predecessor_id)
            for activity_id, party_order_id in party_waits:
                trees[order_of[activity_id]].party_waits[activity_id].append(party_order_id)
        return [trees[k] for k in keys]

    return DataLoader(load)


def from_tree(loader: DataLoader[int, OrderTree], order_id: int, pick: Callable[[OrderTree], T]) -> T | Awaitable[T]:
    """``pick(tree)`` now if the order's tree is loaded (a sync resolver), else an awaitable of it.

    Item- and activity-level fields resolve hundreds of times per dashboard request; answering them
    synchronously saves a coroutine, a task and a DataLoader future per field.
    """
    future = loader.cache_map.get(order_id)
    if future is not None and future.done() and future.exception() is None:
        return pick(future.result())

    async def later() -> T:
        picked: Any = pick(await loader.load(order_id))
        return await picked if inspect.isawaitable(picked) else picked  # ``pick`` may wait on another loader

    return later()
