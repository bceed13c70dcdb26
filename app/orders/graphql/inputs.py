"""Input types, each with ``to_domain()`` giving the plain dataclass the domain functions take."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.ids import parse_id, parse_ids
from app.orders import activities, amendment, service
from app.orders.graphql.enums import ActivityState, Fulfillment, ItemAction, JeopardyLevel, OrderState, Priority
from app.orders.queries import OrderFilter


@strawberry.input
class CharacteristicInput:
    name: str
    value: str


def characteristics_dict(values: list[CharacteristicInput] | None) -> dict[str, str]:
    return {c.name: c.value for c in values or []}


@strawberry.input
class ContactInput:
    name: str
    role: str | None = None
    email: str | None = None
    phone: str | None = None

    def to_domain(self) -> service.Contact:
        return service.Contact(name=self.name, role=self.role, email=self.email, phone=self.phone)


@strawberry.input
class OrderItemInput:
    product_ref: str
    action: ItemAction = ItemAction.ADD
    quantity: int = 1
    fulfillment: Fulfillment = Fulfillment.INTERNAL
    party_id: strawberry.ID | None = strawberry.field(default=None, description="The party that delivers a party-fulfilled item.")
    characteristics: list[CharacteristicInput] | None = None
    children: list[OrderItemInput] | None = None

    def to_domain(self) -> service.NewItem:
        return service.NewItem(
            product_ref=self.product_ref,
            action=self.action.value,
            quantity=self.quantity,
            fulfillment=self.fulfillment.value,
            party_id=parse_id(self.party_id, "partyId") if self.party_id is not None else None,
            characteristics=characteristics_dict(self.characteristics),
            children=[c.to_domain() for c in self.children or []],
        )


@strawberry.input
class CreateCustomerOrderInput:
    sales_request_ref: str = strawberry.field(description="The initiating sales request; one order per sales request.")
    customer_id: str
    customer_name: str
    committed_date: datetime = strawberry.field(description="The agreed committed availability date (future).")
    items: list[OrderItemInput]
    priority: Priority = Priority.NORMAL
    requested_at: datetime | None = strawberry.field(default=None, description="When the sales request was made (default now).")
    description: str | None = None
    contacts: list[ContactInput] | None = None
    characteristics: list[CharacteristicInput] | None = None

    def to_domain(self) -> service.NewOrder:
        return service.NewOrder(
            sales_request_ref=self.sales_request_ref,
            customer_id=self.customer_id,
            customer_name=self.customer_name,
            committed_date=self.committed_date,
            items=[i.to_domain() for i in self.items],
            priority=self.priority.value,
            requested_at=self.requested_at,
            description=self.description,
            contacts=[c.to_domain() for c in self.contacts or []],
            characteristics=characteristics_dict(self.characteristics),
        )


@strawberry.input(description="Only the fields given change. Characteristics are merged by name.")
class UpdateCustomerOrderInput:
    committed_date: datetime | None = None
    priority: Priority | None = None
    description: str | None = None
    customer_name: str | None = None
    contacts: list[ContactInput] | None = None
    characteristics: list[CharacteristicInput] | None = None
    remove_characteristics: list[str] | None = None

    def to_domain(self) -> service.OrderChanges:
        return service.OrderChanges(
            committed_date=self.committed_date,
            priority=self.priority.value if self.priority else None,
            description=self.description,
            customer_name=self.customer_name,
            contacts=[c.to_domain() for c in self.contacts] if self.contacts is not None else None,
            characteristics=characteristics_dict(self.characteristics) if self.characteristics is not None else None,
            remove_characteristics=self.remove_characteristics,
        )


@strawberry.input(description="A new item (with its children), at the top of the tree or under an existing item.")
class AddOrderItemInput:
    item: OrderItemInput
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="The item it goes under; none: a top-level item."
    )

    def to_domain(self) -> amendment.ItemAddition:
        parent = parse_id(self.parent_id, "parentId") if self.parent_id is not None else None
        return amendment.ItemAddition(item=self.item.to_domain(), parent_id=parent)


@strawberry.input(description="Only the fields given change. Characteristics are merged by name.")
class ModifyOrderItemInput:
    item_id: strawberry.ID
    quantity: int | None = None
    characteristics: list[CharacteristicInput] | None = None
    remove_characteristics: list[str] | None = None

    def to_domain(self) -> amendment.ItemModification:
        return amendment.ItemModification(
            item_id=parse_id(self.item_id, "itemId"),
            quantity=self.quantity,
            characteristics=characteristics_dict(self.characteristics) if self.characteristics is not None else None,
            remove_characteristics=self.remove_characteristics,
        )


@strawberry.input(description="An item no longer wanted; its children go with it.")
class RemoveOrderItemInput:
    item_id: strawberry.ID
    reason: str

    def to_domain(self) -> amendment.ItemRemoval:
        return amendment.ItemRemoval(item_id=parse_id(self.item_id, "itemId"), reason=self.reason)


@strawberry.input(description="One amendment of an order in flight: a new revision of it, applied whole or refused whole.")
class AmendCustomerOrderInput:
    add: list[AddOrderItemInput] | None = None
    modify: list[ModifyOrderItemInput] | None = None
    remove: list[RemoveOrderItemInput] | None = None

    def to_domain(self) -> amendment.Amendment:
        return amendment.Amendment(
            add=[a.to_domain() for a in self.add or []],
            modify=[m.to_domain() for m in self.modify or []],
            remove=[r.to_domain() for r in self.remove or []],
        )


@strawberry.input
class ScheduleActivityInput:
    kind: str
    planned_start: datetime
    planned_end: datetime
    item_id: strawberry.ID | None = None
    work_group: str | None = None
    assignee: str | None = None
    predecessor_ids: list[strawberry.ID] | None = None
    note: str | None = None
    waits_on_party_order_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Party orders of the same customer order that must deliver before it can start."
    )

    def to_domain(self) -> activities.NewActivity:
        return activities.NewActivity(
            kind=self.kind,
            planned_start=self.planned_start,
            planned_end=self.planned_end,
            item_id=parse_id(self.item_id, "itemId") if self.item_id is not None else None,
            work_group=self.work_group,
            assignee=self.assignee,
            predecessor_ids=parse_ids(self.predecessor_ids, "predecessorIds"),
            note=self.note,
            waits_on_party_order_ids=parse_ids(self.waits_on_party_order_ids, "waitsOnPartyOrderIds"),
        )


@strawberry.input
class ActivityProgressInput:
    state: ActivityState | None = None
    percent_complete: int | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    expected_end: datetime | None = None
    note: str | None = None

    def to_domain(self) -> activities.ActivityProgress:
        return activities.ActivityProgress(
            state=self.state.value if self.state else None,
            percent_complete=self.percent_complete,
            actual_start=self.actual_start,
            actual_end=self.actual_end,
            expected_end=self.expected_end,
            note=self.note,
        )


@strawberry.input
class CustomerOrderFilter:
    states: list[OrderState] | None = None
    customer_id: str | None = None
    priorities: list[Priority] | None = None
    jeopardy_levels: list[JeopardyLevel] | None = None
    committed_from: datetime | None = strawberry.field(default=None, description="Committed date on or after.")
    committed_to: datetime | None = strawberry.field(default=None, description="Committed date before.")
    text: str | None = strawberry.field(default=None, description="Part of the sales request reference or customer name.")

    def to_domain(self) -> OrderFilter:
        return OrderFilter(
            states=[s.value for s in self.states or []],
            customer_id=self.customer_id,
            priorities=[p.value for p in self.priorities or []],
            jeopardy_levels=[j.value for j in self.jeopardy_levels or []],
            committed_from=self.committed_from,
            committed_to=self.committed_to,
            text=self.text,
        )
