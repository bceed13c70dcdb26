"""What every customer order change shares: loading under lock, the version check, touch, the one state move."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.db import UnitOfWork
from app.errors import Conflict, not_found
from app.orders import states
from app.orders.models import CustomerOrder
from app.state_machine import EventScope


async def get_order_for_update(uow: UnitOfWork, order_id: int) -> CustomerOrder:
    """Load and lock the order row: writers to one order queue up instead of racing."""
    order = (
        await uow.session.execute(select(CustomerOrder).where(col(CustomerOrder.id) == order_id).with_for_update())
    ).scalar_one_or_none()
    if order is None:
        raise not_found("Customer order", order_id)
    return order


def check_version(order: CustomerOrder, expected: int | None) -> None:
    if expected is not None and order.version != expected:
        raise Conflict(
            f"Customer order {order.id} was changed by someone else (version {order.version}, you sent "
            f"{expected}). Reload it and apply your change again.",
            current_version=order.version,
        )


def touch(uow: UnitOfWork, order: CustomerOrder) -> None:
    order.version += 1
    order.updated_at = uow.now


def move_order(
    uow: UnitOfWork, order: CustomerOrder, target: str, reason: str | None = None, details: dict[str, Any] | None = None
) -> None:
    """The single place a customer order's state changes (checked against the machine, one event)."""
    assert order.id is not None
    states.ORDER.transition(uow, order, target, EventScope(order.id, order.id), reason=reason, details=details)
    order.state_reason = reason
    if target == "completed":
        order.completed_at = uow.now
    touch(uow, order)
