"""Generating service order requests from internally fulfilled items, and tracking them back."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from app import validation as v
from app.db import UnitOfWork
from app.errors import Conflict, InvalidInput, InvalidTransition, not_found
from app.orders import states
from app.orders.core import get_order_for_update
from app.orders.models import OrderItem, ServiceOrderRequest
from app.state_machine import EventScope


async def generate_service_order_requests(uow: UnitOfWork, order_id: int) -> list[ServiceOrderRequest]:
    """One request per open internal item that has none yet; running it again creates nothing twice."""
    order = await get_order_for_update(uow, order_id)
    if order.state not in states.OPEN_ORDER:
        raise InvalidTransition(f"Customer order {order_id} is {order.state}; no service orders can be requested.")
    items = (
        await uow.session.execute(
            select(OrderItem)
            .outerjoin(ServiceOrderRequest, col(ServiceOrderRequest.item_id) == col(OrderItem.id))
            .where(
                col(OrderItem.order_id) == order_id,
                col(OrderItem.fulfillment) == "internal",
                col(ServiceOrderRequest.id).is_(None),
            )
            .order_by(col(OrderItem.id))
        )
    ).scalars()
    created = []
    for item in items:
        if not states.ITEM.is_open(item.state):
            continue
        request = ServiceOrderRequest(
            order_id=order_id,
            item_id=item.id or 0,
            state=states.SERVICE_ORDER_REQUEST.initial,
            created_at=uow.now,
            updated_at=uow.now,
        )
        uow.session.add(request)
        await uow.session.flush()
        created.append(request)
        uow.record(
            "serviceOrderRequested",
            entity="serviceOrderRequest",
            entity_id=request.id or 0,
            order_id=order_id,
            after={"item_id": item.id, "product_ref": item.product_ref, "action": item.action, "state": request.state},
        )
    return created


def move_request(uow: UnitOfWork, request: ServiceOrderRequest, target: str, reason: str | None = None) -> None:
    """The single place a service order request's state changes."""
    states.SERVICE_ORDER_REQUEST.transition(uow, request, target, EventScope(request.id or 0, request.order_id), reason=reason)
    request.updated_at = uow.now


async def update_service_order_request(
    uow: UnitOfWork, request_id: int, state: str | None, external_ref: str | None = None, note: str | None = None
) -> ServiceOrderRequest:
    """Record what Issue Service Orders reports back: its reference and the request's state."""
    request = await uow.session.get(ServiceOrderRequest, request_id)
    if request is None:
        raise not_found("Service order request", request_id)
    await get_order_for_update(uow, request.order_id)
    await uow.session.refresh(request)
    if state is None and external_ref is None and note is None:
        raise InvalidInput("Say what changed: state, externalRef or note.", field="state")
    ref = v.text(external_ref, "externalRef", max_len=128)
    if ref is not None and request.external_ref not in (None, ref):
        raise Conflict(f"Service order request {request_id} already has reference {request.external_ref}.")
    if ref is not None and ref != request.external_ref:
        request.external_ref = ref
        uow.record(
            "serviceOrderReferenced",
            entity="serviceOrderRequest",
            entity_id=request_id,
            order_id=request.order_id,
            after={"external_ref": ref},
        )
    note_text = v.text(note, "note")
    if state is not None and state != request.state:
        request.note = note_text if note is not None else request.note
        move_request(uow, request, state, note_text)
    elif note is not None and note_text != request.note:
        before_note, request.note = request.note, note_text
        uow.record(
            "serviceOrderNoted",
            entity="serviceOrderRequest",
            entity_id=request_id,
            order_id=request.order_id,
            before={"note": before_note},
            after={"note": note_text},
        )
    request.updated_at = uow.now
    return request
