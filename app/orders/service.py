"""What sales order staff do with a customer order: create, modify, change status, cancel, complete."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from app import validation as v
from app.db import UnitOfWork
from app.errors import Conflict, InvalidInput, InvalidTransition
from app.events import diff
from app.orders import states
from app.orders.core import check_version, get_order_for_update, move_order, touch
from app.orders.models import CustomerOrder, OrderItem, OrderNote
from app.party_orders.models import Party

PRIORITIES = ("low", "normal", "high", "critical")
ITEM_ACTIONS = ("add", "modify", "delete")
FULFILLMENTS = ("internal", "party")
MAX_ITEMS = 250
MAX_ITEM_DEPTH = 5
MAX_CONTACTS = 20


@dataclass
class Contact:
    name: str
    role: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass
class NewItem:
    product_ref: str
    action: str = "add"
    quantity: int = 1
    fulfillment: str = "internal"
    party_id: int | None = None
    characteristics: dict[str, str] = field(default_factory=dict)
    children: list[NewItem] = field(default_factory=list)


@dataclass
class NewOrder:
    sales_request_ref: str
    customer_id: str
    customer_name: str
    committed_date: datetime
    items: list[NewItem]
    priority: str = "normal"
    requested_at: datetime | None = None
    description: str | None = None
    contacts: list[Contact] = field(default_factory=list)
    characteristics: dict[str, str] = field(default_factory=dict)


@dataclass
class OrderChanges:
    """Fields left None are kept; characteristics are merged, ``remove_characteristics`` dropped."""

    committed_date: datetime | None = None
    priority: str | None = None
    description: str | None = None
    customer_name: str | None = None
    contacts: list[Contact] | None = None
    characteristics: dict[str, str] | None = None
    remove_characteristics: list[str] | None = None


def order_snapshot(order: CustomerOrder) -> dict[str, Any]:
    return {
        "state": order.state,
        "priority": order.priority,
        "committed_date": order.committed_date,
        "customer_name": order.customer_name,
        "description": order.description,
        "contacts": order.contacts,
        "characteristics": order.characteristics,
        "version": order.version,
    }


def _validate_priority(priority: str) -> str:
    if priority not in PRIORITIES:
        raise InvalidInput(f"priority must be one of {', '.join(PRIORITIES)}.", field="priority")
    return priority


def _validate_contacts(contacts: list[Contact]) -> list[dict[str, Any]]:
    if len(contacts) > MAX_CONTACTS:
        raise InvalidInput(f"At most {MAX_CONTACTS} contacts.", field="contacts")
    out = []
    for c in contacts:
        email = v.text(c.email, "contacts.email", max_len=254)
        if email is not None and ("@" not in email or " " in email):
            raise InvalidInput(f"'{email}' is not an e-mail address.", field="contacts.email")
        out.append(
            {
                "name": v.required_text(c.name, "contacts.name"),
                "role": v.text(c.role, "contacts.role", max_len=100),
                "email": email,
                "phone": v.text(c.phone, "contacts.phone", max_len=40),
            }
        )
    return out


def _validate_items(items: list[NewItem], depth: int = 1) -> int:
    if depth > MAX_ITEM_DEPTH:
        raise InvalidInput(f"Items nest at most {MAX_ITEM_DEPTH} levels deep.", field="items")
    count = 0
    for item in items:
        v.required_text(item.product_ref, "items.productRef", max_len=128)
        if item.action not in ITEM_ACTIONS:
            raise InvalidInput(f"item action must be one of {', '.join(ITEM_ACTIONS)}.", field="items.action")
        if item.quantity < 1 or item.quantity > 1_000_000:
            raise InvalidInput("item quantity must be between 1 and 1000000.", field="items.quantity")
        if item.fulfillment not in FULFILLMENTS:
            raise InvalidInput("item fulfillment must be internal or party.", field="items.fulfillment")
        if item.fulfillment == "internal" and item.party_id is not None:
            raise InvalidInput("Only party-fulfilled items name a party.", field="items.partyId")
        if item.fulfillment == "party" and item.party_id is None:
            raise InvalidInput("A party-fulfilled item names the party that delivers it.", field="items.partyId")
        v.characteristics(item.characteristics, "items.characteristics")
        count += 1 + _validate_items(item.children, depth + 1)
    return count


def _party_ids(items: list[NewItem]) -> set[int]:
    return {i.party_id for i in items if i.party_id is not None} | {p for i in items for p in _party_ids(i.children)}


async def _check_parties(uow: UnitOfWork, items: list[NewItem]) -> None:
    wanted = _party_ids(items)
    if not wanted:
        return
    found = set((await uow.session.execute(select(col(Party.id)).where(col(Party.id).in_(sorted(wanted))))).scalars())
    if missing := sorted(wanted - found):
        raise InvalidInput(f"Party {missing[0]} does not exist.", field="items.partyId")


async def create_order(uow: UnitOfWork, data: NewOrder) -> CustomerOrder:
    """Take a customer order from a sales request, with its item tree."""
    now = uow.now
    ref = v.required_text(data.sales_request_ref, "salesRequestRef", max_len=64)
    requested_at = v.aware(data.requested_at, "requestedAt") or now
    if requested_at > now:
        raise InvalidInput("requestedAt cannot be in the future.", field="requestedAt")
    v.future(data.committed_date, "committedDate", now)
    v.ordered(requested_at, data.committed_date, "requestedAt", "committedDate")
    if not data.items:
        raise InvalidInput("An order needs at least one item.", field="items")
    if _validate_items(data.items) > MAX_ITEMS:
        raise InvalidInput(f"An order holds at most {MAX_ITEMS} items.", field="items")
    await _check_parties(uow, data.items)
    existing = (
        await uow.session.execute(select(col(CustomerOrder.id)).where(col(CustomerOrder.sales_request_ref) == ref))
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict(f"Sales request {ref} already has customer order {existing}.", existing_order_id=str(existing))
    order = CustomerOrder(
        sales_request_ref=ref,
        customer_id=v.required_text(data.customer_id, "customerId", max_len=64),
        customer_name=v.required_text(data.customer_name, "customerName"),
        priority=_validate_priority(data.priority),
        state=states.ORDER.initial,
        description=v.text(data.description, "description"),
        requested_at=requested_at,
        committed_date=data.committed_date,
        contacts=_validate_contacts(data.contacts),
        characteristics=v.characteristics(data.characteristics),
        created_at=now,
        updated_at=now,
    )
    uow.session.add(order)
    try:
        await uow.session.flush()
    except IntegrityError as exc:  # a concurrent create of the same sales request won the race
        raise Conflict(f"Sales request {ref} already has a customer order.") from exc
    assert order.id is not None
    items = await _add_items(uow, order.id, data.items, parent_id=None)
    uow.record(
        "orderCreated",
        entity="order",
        entity_id=order.id,
        order_id=order.id,
        after={**order_snapshot(order), "sales_request_ref": ref, "customer_id": order.customer_id, "items": len(items)},
    )
    return order


async def _add_items(uow: UnitOfWork, order_id: int, items: list[NewItem], parent_id: int | None) -> list[OrderItem]:
    created: list[OrderItem] = []
    for position, spec in enumerate(items):
        row = OrderItem(
            order_id=order_id,
            parent_id=parent_id,
            position=position,
            product_ref=spec.product_ref.strip(),
            action=spec.action,
            quantity=spec.quantity,
            fulfillment=spec.fulfillment,
            party_id=spec.party_id,
            state=states.ITEM.initial,
            characteristics=v.characteristics(spec.characteristics),
            updated_at=uow.now,
        )
        uow.session.add(row)
        await uow.session.flush()
        created.append(row)
        created += await _add_items(uow, order_id, spec.children, parent_id=row.id)
    return created


async def update_order(uow: UnitOfWork, order_id: int, expected_version: int, changes: OrderChanges) -> CustomerOrder:
    """Modify order information; refused with CONFLICT when ``expected_version`` is stale."""
    order = await get_order_for_update(uow, order_id)
    check_version(order, expected_version)
    if not states.ORDER.is_open(order.state):
        raise InvalidTransition(f"Customer order {order_id} is {order.state}; it can no longer be changed.")
    before = order_snapshot(order)
    if changes.committed_date is not None:
        v.future(changes.committed_date, "committedDate", uow.now)
        v.ordered(order.requested_at, changes.committed_date, "requestedAt", "committedDate")
        order.committed_date = changes.committed_date
    if changes.priority is not None:
        order.priority = _validate_priority(changes.priority)
    if changes.description is not None:
        order.description = v.text(changes.description, "description")
    if changes.customer_name is not None:
        order.customer_name = v.required_text(changes.customer_name, "customerName")
    if changes.contacts is not None:
        order.contacts = _validate_contacts(changes.contacts)
    if changes.characteristics is not None or changes.remove_characteristics:
        merged = {**order.characteristics, **v.characteristics(changes.characteristics or {})}
        for name in changes.remove_characteristics or []:
            if name not in merged:
                raise InvalidInput(f"Characteristic '{name}' is not set.", field="removeCharacteristics")
            merged.pop(name)
        order.characteristics = v.characteristics(merged)
    old, new = diff(before, order_snapshot(order))
    if not new:
        raise InvalidInput("The change sets nothing new.", field="changes")
    touch(uow, order)
    uow.record("orderUpdated", entity="order", entity_id=order_id, order_id=order_id, before=old, after=new)
    return order


async def add_note(uow: UnitOfWork, order_id: int, text: str) -> OrderNote:
    order = await get_order_for_update(uow, order_id)
    note = OrderNote(
        order_id=order_id, text=v.required_text(text, "text", max_len=v.MAX_TEXT), author=uow.actor.name, created_at=uow.now
    )
    uow.session.add(note)
    await uow.session.flush()
    order.updated_at = uow.now
    uow.record("noteAdded", entity="note", entity_id=note.id or 0, order_id=order_id, after={"text": note.text})
    return note


async def change_order_state(
    uow: UnitOfWork, order_id: int, target: str, reason: str | None, expected_version: int | None = None
) -> CustomerOrder:
    order = await get_order_for_update(uow, order_id)
    check_version(order, expected_version)
    reason = v.text(reason, "reason", max_len=1000)
    if target == "completed":
        raise InvalidInput("Use completeOrder to complete an order; it checks the open work.", field="state")
    if target in ("cancelled", "pendingCancellation"):
        raise InvalidInput("Use cancelOrder to cancel an order; it cancels the open work too.", field="state")
    if target in ("held", "failed", "rejected", "partial") and not reason:
        raise InvalidInput(f"Moving an order to {target} needs a reason.", field="reason")
    move_order(uow, order, target, reason)
    return order
