"""The open work of a customer order and how its completion rolls up: work -> item -> order.

Work comes from several kinds (activities, service order requests, and party orders from their own
domain, which registers itself here), so completion and cancellation treat them alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UnitOfWork
from app.orders import states
from app.orders.models import Activity, CustomerOrder, OrderItem, ServiceOrderRequest


@dataclass(frozen=True)
class WorkUnit:
    kind: str
    id: int
    item_id: int | None
    state: str
    done: bool
    dropped: bool
    started: bool
    expected_end: datetime | None = None  # when this work is expected to finish, if it says

    @property
    def open(self) -> bool:
        return not (self.done or self.dropped)


WorkSource = Callable[[AsyncSession, int], Awaitable[list[WorkUnit]]]
# Cancels one kind of open work of an order; returns True while some of it awaits a confirmation.
WorkCanceller = Callable[[UnitOfWork, CustomerOrder, str], Awaitable[bool]]


async def _activities(session: AsyncSession, order_id: int) -> list[WorkUnit]:
    rows = await session.execute(select(Activity.id, Activity.item_id, Activity.state).where(Activity.order_id == order_id))
    return [
        WorkUnit("activity", i, item, s, s in states.WORK_DONE, s in states.WORK_DROPPED, s != "planned")
        for i, item, s in rows
    ]


async def _service_order_requests(session: AsyncSession, order_id: int) -> list[WorkUnit]:
    rows = await session.execute(
        select(ServiceOrderRequest.id, ServiceOrderRequest.item_id, ServiceOrderRequest.state).where(
            ServiceOrderRequest.order_id == order_id
        )
    )
    return [
        WorkUnit("serviceOrderRequest", i, item, s, s in states.WORK_DONE, s in states.WORK_DROPPED, s != "acknowledged")
        for i, item, s in rows
    ]


async def _cancel_activities(uow: UnitOfWork, order: CustomerOrder, reason: str) -> bool:
    from app.orders.activities import move_activity

    rows = await uow.session.execute(select(Activity).where(Activity.order_id == order.id))
    for activity in rows.scalars():
        if states.ACTIVITY.is_open(activity.state):
            move_activity(uow, activity, "cancelled", reason)
    return False


async def _cancel_service_order_requests(uow: UnitOfWork, order: CustomerOrder, reason: str) -> bool:
    from app.orders.service_orders import move_request

    rows = await uow.session.execute(select(ServiceOrderRequest).where(ServiceOrderRequest.order_id == order.id))
    for request in rows.scalars():
        if states.SERVICE_ORDER_REQUEST.is_open(request.state):
            move_request(uow, request, "cancelled", reason)
    return False


SOURCES: list[WorkSource] = [_activities, _service_order_requests]
CANCELLERS: list[WorkCanceller] = [_cancel_activities, _cancel_service_order_requests]


def register(source: WorkSource, canceller: WorkCanceller) -> None:
    """Another domain (party orders) adds its kind of work to every customer order."""
    if source not in SOURCES:
        SOURCES.append(source)
    if canceller not in CANCELLERS:
        CANCELLERS.append(canceller)


async def all_work(session: AsyncSession, order_id: int) -> list[WorkUnit]:
    units: list[WorkUnit] = []
    for source in SOURCES:
        units += await source(session, order_id)
    return units


async def open_work(session: AsyncSession, order_id: int) -> list[WorkUnit]:
    return [u for u in await all_work(session, order_id) if u.open]


async def cancel_open_work(uow: UnitOfWork, order: CustomerOrder, reason: str) -> bool:
    """Cancel every open piece of work; True if some of it awaits the other side's confirmation."""
    awaiting = False
    for cancel in CANCELLERS:
        awaiting = await cancel(uow, order, reason) or awaiting
    return awaiting


def move_item(uow: UnitOfWork, item: OrderItem, target: str, reason: str | None = None) -> None:
    states.ITEM.check(item.state, target)
    before, item.state, item.updated_at = item.state, target, uow.now
    uow.record(
        "itemStateChanged",
        entity="item",
        entity_id=item.id or 0,
        order_id=item.order_id,
        before={"state": before},
        after={"state": target},
        data={"reason": reason} if reason else None,
    )


async def close_items(uow: UnitOfWork, order_id: int, target: str) -> None:
    """Move every item still open to ``target`` (completed or cancelled)."""
    rows = await uow.session.execute(select(OrderItem).where(OrderItem.order_id == order_id).order_by(OrderItem.id))
    for item in rows.scalars():
        if states.ITEM.is_open(item.state) and item.state != target:
            if item.state == "pendingCancellation" and target == "completed":
                continue
            move_item(uow, item, target)


async def roll_up(uow: UnitOfWork, order_id: int) -> None:
    """After work changed: start or complete items, then start or complete the order."""
    from app.orders.schedule import reevaluate
    from app.orders.service import move_order

    session = uow.session
    order = await session.get(CustomerOrder, order_id)
    if order is None or not states.ORDER.is_open(order.state):
        return
    await session.flush()
    units = await all_work(session, order_id)
    items = list((await session.execute(select(OrderItem).where(OrderItem.order_id == order_id))).scalars())
    by_item: dict[int | None, list[WorkUnit]] = defaultdict(list)
    for unit in units:
        by_item[unit.item_id].append(unit)
    children: dict[int | None, list[OrderItem]] = defaultdict(list)
    for item in items:
        children[item.parent_id].append(item)

    def settle(item: OrderItem) -> None:
        for child in children[item.id]:
            settle(child)
        if not states.ITEM.is_open(item.state):
            return
        own = by_item.get(item.id, [])
        kids = children[item.id]
        if not own and not kids:
            return
        kids_done = all(k.state in ("completed", "cancelled", "rejected") for k in kids)
        own_done = all(not u.open for u in own)
        anything_done = any(u.done for u in own) or any(k.state == "completed" for k in kids)
        if own_done and kids_done and anything_done:
            move_item(uow, item, "completed")
        elif item.state == "acknowledged" and (any(u.started for u in own) or any(k.state != "acknowledged" for k in kids)):
            move_item(uow, item, "inProgress")

    for root in children[None]:
        settle(root)

    started = any(u.started for u in units) or any(i.state != "acknowledged" for i in items)
    if order.state == "acknowledged" and started:
        move_order(uow, order, "inProgress", "provisioning started")
    all_closed = items and all(not states.ITEM.is_open(i.state) for i in items)
    if order.state == "inProgress" and all_closed and any(i.state == "completed" for i in items):
        move_order(uow, order, "completed", "all items completed")
        await reevaluate(uow, order)
