"""The work of customer orders, whatever its kind, and the roll-up rule from work to item to order.

Each kind of work (activities and service order requests here, party orders in their own domain)
is a ``Kind``: how to read its units for a set of orders and how to cancel an order's open ones.
Which kinds exist is listed once, in ``app/consistency.py``; nothing registers itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db import UnitOfWork, in_ids
from app.orders import states
from app.orders.activities import move_activity
from app.orders.models import Activity, CustomerOrder, OrderItem, ServiceOrderRequest
from app.orders.service_orders import move_request
from app.state_machine import EventScope


@dataclass(frozen=True)
class WorkUnit:
    kind: str
    id: int
    order_id: int
    item_id: int | None
    state: str
    done: bool
    dropped: bool
    started: bool
    expected_end: datetime | None = None  # when this open work is expected to finish, if it says
    actual_end: datetime | None = None  # when this done work finished, if it says

    @property
    def open(self) -> bool:
        return not (self.done or self.dropped)


@dataclass(frozen=True)
class Kind:
    """One kind of work: its units for a set of orders, and the cancellation of one order's open units
    (True while some of them await the other side's confirmation)."""

    name: str
    units: Callable[[AsyncSession, Sequence[int], str], Awaitable[list[WorkUnit]]]
    cancel: Callable[[UnitOfWork, CustomerOrder, str], Awaitable[bool]]


class ActivityRow(Protocol):
    """What the roll-up and the critical path read of an activity (an ORM row or a plain one)."""

    id: int | None
    order_id: int
    item_id: int | None
    state: str
    planned_start: datetime
    planned_end: datetime
    actual_start: datetime | None
    actual_end: datetime | None
    expected_end: datetime | None


def activity_unit(a: ActivityRow) -> WorkUnit:
    s = a.state
    return WorkUnit(
        "activity",
        a.id or 0,
        a.order_id,
        a.item_id,
        s,
        s in states.WORK_DONE,
        s in states.WORK_DROPPED,
        s != "planned",
        expected_end=a.expected_end or a.planned_end,
        actual_end=a.actual_end,
    )


async def _activity_units(session: AsyncSession, order_ids: Sequence[int], dialect: str) -> list[WorkUnit]:
    rows = await session.execute(
        select(Activity).where(in_ids(col(Activity.order_id), order_ids, dialect)).order_by(col(Activity.id))
    )
    return [activity_unit(a) for a in rows.scalars()]


async def _request_units(session: AsyncSession, order_ids: Sequence[int], dialect: str) -> list[WorkUnit]:
    r = ServiceOrderRequest
    rows = await session.execute(
        select(col(r.id), col(r.order_id), col(r.item_id), col(r.state))
        .where(in_ids(col(r.order_id), order_ids, dialect))
        .order_by(col(r.id))
    )
    return [
        WorkUnit("serviceOrderRequest", i or 0, o, item, s, s in states.WORK_DONE, s in states.WORK_DROPPED, s != "acknowledged")
        for i, o, item, s in rows
    ]


async def _cancel_activities(uow: UnitOfWork, order: CustomerOrder, reason: str) -> bool:
    rows = await uow.session.execute(select(Activity).where(col(Activity.order_id) == order.id).order_by(col(Activity.id)))
    for activity in rows.scalars():
        if states.ACTIVITY.is_open(activity.state):
            move_activity(uow, activity, "cancelled", reason)
    return False


async def _cancel_requests(uow: UnitOfWork, order: CustomerOrder, reason: str) -> bool:
    rows = await uow.session.execute(
        select(ServiceOrderRequest).where(col(ServiceOrderRequest.order_id) == order.id).order_by(col(ServiceOrderRequest.id))
    )
    for request in rows.scalars():
        if states.SERVICE_ORDER_REQUEST.is_open(request.state):
            move_request(uow, request, "cancelled", reason)
    return False


ACTIVITIES = Kind("activity", _activity_units, _cancel_activities)
SERVICE_ORDER_REQUESTS = Kind("serviceOrderRequest", _request_units, _cancel_requests)


async def units_of(session: AsyncSession, kinds: Iterable[Kind], order_ids: Sequence[int], dialect: str) -> list[WorkUnit]:
    """Every unit of work of these orders, kind by kind (one query each)."""
    units: list[WorkUnit] = []
    for kind in kinds:
        units += await kind.units(session, order_ids, dialect)
    return units


def move_item(uow: UnitOfWork, item: OrderItem, target: str, reason: str | None = None) -> None:
    """The single place an order item's state changes (checked against the machine, one event)."""
    states.ITEM.transition(uow, item, target, EventScope(item.id or 0, item.order_id), reason=reason)
    item.updated_at = uow.now


# Item states the roll-up leaves alone: closed, or set by a cancellation in progress.
SETTLED_ITEM = frozenset({"assessingCancellation", "pendingCancellation", "held"}) | states.ITEM.terminal


def rolled_up_item(state: str, own: Sequence[WorkUnit], children: Sequence[str], by_party: bool = False) -> str:
    """An item's state as its own work and its children's states make it.

    ``by_party``: a party item, completed only by the delivery of a party order (its own internal work
    done is progress, not completion; a forced completion of the order settles it otherwise).

    Removed by an amendment (``pendingCancellation``): cancelled once none of its own work is open.
    Completed when nothing of its own is open, every child is closed and something was done;
    in progress while some live work of its own has started or been done, or a child is in progress
    or completed; otherwise waiting: still ``acknowledged`` if it never started, else ``pending``
    (its party order was cancelled, say, and it waits for another).
    """
    if state == "pendingCancellation" and not any(u.open for u in own):
        return "cancelled"  # removed by an amendment, and its party confirmed the cancellation
    if state in SETTLED_ITEM:
        return state
    done = any(u.done for u in own) or "completed" in children
    delivered = not by_party or any(u.done and u.kind == "partyOrder" for u in own)
    if done and delivered and not any(u.open for u in own) and all(not states.ITEM.is_open(c) for c in children):
        return "completed"
    if any(u.done or (u.open and u.started) for u in own) or any(c in ("inProgress", "completed") for c in children):
        return "inProgress"
    return "acknowledged" if state == "acknowledged" else "pending"
