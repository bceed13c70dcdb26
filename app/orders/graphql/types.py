"""Output types. Each wraps a row of the domain model directly; nested lists go through DataLoaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.event_visibility import EventLike, Viewer, visible_event
from app.graphql.connection import Connection
from app.orders import amendment_preview, loaders, queries
from app.orders.graphql.enums import (
    ActivityState,
    Fulfillment,
    ItemAction,
    JeopardyLevel,
    OrderItemState,
    OrderState,
    Priority,
    ServiceOrderRequestState,
)
from app.pagination import Page
from app.timeline.loaders import subject_names
from app.timeline.sentences import sentence
from app.timeline.subjects import subjects_needed

if TYPE_CHECKING:
    from app.forecast.graphql.types import CustomerOrderForecast
    from app.jeopardy.graphql.types import Escalation
    from app.party_orders.graphql.types import PartyOrder


def tree_field(info: Info, order_id: Any, pick: Callable[[loaders.OrderTree], Any]) -> Any:
    """Resolve from the order's tree: synchronously once it is loaded (see ``loaders.from_tree``)."""
    return loaders.from_tree(info.context.loader(loaders.order_trees), int(order_id), pick)


@strawberry.type
class Characteristic:
    name: str
    value: str


def characteristics_of(values: dict[str, str]) -> list[Characteristic]:
    return [Characteristic(name=k, value=v) for k, v in sorted(values.items())]


@strawberry.type
class Contact:
    name: str
    role: str | None
    email: str | None
    phone: str | None


@strawberry.type(description="One entry of the event log: what changed, who changed it and when.")
class OrderEvent:
    seq: int = strawberry.field(name="sequence", description="Position in the global event log.")
    type: str
    at: datetime
    actor: str
    actor_role: str
    entity: str = strawberry.field(description="order, item, activity, serviceOrderRequest, partyOrder, ...")
    entity_id: strawberry.ID
    order_id: strawberry.ID | None
    party_order_id: strawberry.ID | None

    @strawberry.field(description="Resume point: pass it as `after` to read or subscribe from here.")
    def cursor(self) -> str:
        return queries.event_cursor(self.seq)

    @strawberry.field(description="The changed fields before the change.")
    def before(self) -> JSON:
        return self.data.get("before", {})

    @strawberry.field(description="The changed fields after the change.")
    def after(self) -> JSON:
        return self.data.get("after", {})

    @strawberry.field(description="Anything else the event carries (reason, ...).")
    def details(self) -> JSON:
        return {k: v for k, v in self.data.items() if k not in ("before", "after")}

    @strawberry.field(
        description='The event as a sentence ("FibreCo moved its delivery from 3 Dec to 5 Dec"), told from what the caller may see of it.'
    )
    async def summary(self, info: Info) -> str:
        event: EventLike = self  # type: ignore[assignment]  # resolved on an Event row or its EventView, which carry data
        needed = subjects_needed(event, Viewer.of(info.context.signed_in))
        found = await info.context.loader(subject_names).load_many(needed) if needed else []
        return sentence(event, {s: name for s, name in zip(needed, found) if name is not None})


def visible_timeline(info: Info, page: Page[Any]) -> Connection[OrderEvent]:
    """A page of events as the caller may see them (app/event_visibility.py decides)."""
    viewer = Viewer.of(info.context.signed_in)
    kept = [(c, shown) for c, e in zip(page.cursors, page.items) if (shown := visible_event(e, viewer)) is not None]
    return Connection.of(replace(page, cursors=[c for c, _ in kept], items=[e for _, e in kept]))


@strawberry.type
class OrderNote:
    id: strawberry.ID
    text: str
    author: str
    created_at: datetime


@strawberry.type
class ServiceOrderRequest:
    id: strawberry.ID
    order_id: strawberry.ID
    item_id: strawberry.ID
    state: ServiceOrderRequestState
    external_ref: str | None
    note: str | None
    supplement: int = strawberry.field(description="Supplements sent after amendments of its item (0: none).")
    created_at: datetime
    updated_at: datetime


@strawberry.type(description="A scheduled provisioning activity.")
class Activity:
    id: strawberry.ID
    order_id: strawberry.ID
    item_id: strawberry.ID | None
    kind: str
    state: ActivityState
    planned_start: datetime
    planned_end: datetime
    actual_start: datetime | None
    actual_end: datetime | None
    expected_end: datetime | None = strawberry.field(description="Latest expected end (reported, or from the critical path).")
    percent_complete: int
    work_group: str | None
    assignee: str | None
    note: str | None
    jeopardy_level: JeopardyLevel
    jeopardy_reason: str | None
    version: int

    @strawberry.field(description="Activities that must complete before this one can start.")
    def predecessor_ids(self, info: Info) -> list[strawberry.ID]:
        return tree_field(info, self.order_id, lambda t: [strawberry.ID(str(i)) for i in t.predecessors.get(self.id, ())])

    @strawberry.field(description="Party orders of the same customer order that must deliver before this one can start.")
    def waits_on_party_order_ids(self, info: Info) -> list[strawberry.ID]:
        return tree_field(info, self.order_id, lambda t: [strawberry.ID(str(i)) for i in t.party_waits.get(self.id, ())])


@strawberry.type(description="An order item; items nest (a bundle has child items).")
class OrderItem:
    id: strawberry.ID
    order_id: strawberry.ID
    parent_id: strawberry.ID | None
    product_ref: str
    action: ItemAction
    quantity: int
    fulfillment: Fulfillment
    party_id: strawberry.ID | None
    state: OrderItemState

    @strawberry.field
    def characteristics(self) -> list[Characteristic]:
        return characteristics_of(self.characteristics)

    @strawberry.field
    def children(self, info: Info) -> list[OrderItem]:
        return tree_field(info, self.order_id, lambda t: t.children.get(self.id, []))

    @strawberry.field
    def activities(self, info: Info) -> list[Activity]:
        return tree_field(info, self.order_id, lambda t: t.activities_by_item.get(self.id, []))

    @strawberry.field
    def service_order_request(self, info: Info) -> ServiceOrderRequest | None:
        return tree_field(info, self.order_id, lambda t: t.request_by_item.get(self.id))

    @strawberry.field(description="Party orders delivering this item.")
    def party_orders(self, info: Info) -> list[Annotated[PartyOrder, strawberry.lazy("app.party_orders.graphql.types")]]:
        from app.party_orders import loaders as party_loaders

        def pick(links: list[Any]) -> Any:
            mine = {link.party_order_id for link in links if link.item_id == int(self.id)}
            if not mine:
                return []
            rows = info.context.loader(party_loaders.party_orders_by_order)
            return loaders.from_tree(rows, int(self.order_id), lambda pos: [p for p in pos if p.id in mine])

        # Synchronous once both loaders hold the order (after the first item of it asked).
        return loaders.from_tree(info.context.loader(party_loaders.links_by_order), int(self.order_id), pick)


@strawberry.type(description="A customer order and the tree of work that provisions it.")
class CustomerOrder:
    id: strawberry.ID
    sales_request_ref: str
    customer_id: str
    customer_name: str
    priority: Priority
    state: OrderState
    state_reason: str | None
    description: str | None
    requested_at: datetime
    committed_date: datetime = strawberry.field(description="The agreed committed availability date.")
    expected_completion: datetime | None = strawberry.field(description="When the open work will finish (critical path).")
    jeopardy_level: JeopardyLevel
    jeopardy_reason: str | None
    jeopardy_since: datetime | None
    escalation_level: int
    version: int = strawberry.field(description="Send it back with a change; a stale one is refused with CONFLICT.")
    revision: int = strawberry.field(description="How many amendments were accepted; each amendment is a new revision.")
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None

    @strawberry.field
    def contacts(self) -> list[Contact]:
        return [Contact(name=c["name"], role=c.get("role"), email=c.get("email"), phone=c.get("phone")) for c in self.contacts]

    @strawberry.field
    def characteristics(self) -> list[Characteristic]:
        return characteristics_of(self.characteristics)

    @strawberry.field(description="Top-level items; each has its children.")
    def items(self, info: Info) -> list[OrderItem]:
        return tree_field(info, self.id, lambda t: t.children.get(None, []))

    @strawberry.field(description="Every item of the order, flat.")
    def all_items(self, info: Info) -> list[OrderItem]:
        return tree_field(info, self.id, lambda t: t.items)

    @strawberry.field
    def activities(self, info: Info) -> list[Activity]:
        return tree_field(info, self.id, lambda t: t.activities)

    @strawberry.field
    def service_order_requests(self, info: Info) -> list[ServiceOrderRequest]:
        return tree_field(info, self.id, lambda t: t.requests)

    @strawberry.field(description="Orders placed with parties for this order's items.")
    async def party_orders(self, info: Info) -> list[Annotated[PartyOrder, strawberry.lazy("app.party_orders.graphql.types")]]:
        from app.party_orders import loaders as party_loaders

        return await info.context.loader(party_loaders.party_orders_by_order).load(self.id)

    @strawberry.field
    async def notes(self, info: Info) -> list[OrderNote]:
        return await info.context.loader(loaders.notes_by_order).load(self.id)

    @strawberry.field(
        description="Escalations and de-escalations of this order and of its party orders (partyOrderId set), oldest first."
    )
    async def escalations(self, info: Info) -> list[Annotated[Escalation, strawberry.lazy("app.jeopardy.graphql.types")]]:
        from app.jeopardy.loaders import escalations_by_order

        return await info.context.loader(escalations_by_order).load(int(self.id))

    @strawberry.field(description="When its open work will be done and how likely by the committed date; null until first drawn.")
    async def forecast(
        self, info: Info
    ) -> Annotated[CustomerOrderForecast, strawberry.lazy("app.forecast.graphql.types")] | None:
        from app.forecast.graphql.types import CustomerOrderForecast
        from app.forecast.loaders import forecasts_by_order

        row = await info.context.loader(forecasts_by_order).load(int(self.id))
        return CustomerOrderForecast.of(row) if row is not None else None

    @strawberry.field(description="The order's events, oldest first (includes its items, activities and party orders).")
    async def timeline(self, info: Info, first: int = 50, after: str | None = None) -> Connection[OrderEvent]:
        async with info.context.db.read() as session:
            page = await queries.timeline(session, int(self.id), first=first, after=after)
        return visible_timeline(info, page)


@strawberry.type(description="An item an amendment may not change, and why (its point of no return).")
class AmendmentRefusal:
    item_id: strawberry.ID
    reason: str


@strawberry.type(description="What an amendment changes, by kind; new items by product.")
class AmendmentEffects:
    added_items: list[str]
    modified_items: list[strawberry.ID]
    removed_items: list[strawberry.ID]
    rescheduled_activities: list[strawberry.ID]
    cancelled_activities: list[strawberry.ID]
    supplemented_requests: list[strawberry.ID] = strawberry.field(name="supplementedServiceOrderRequests")
    cancelled_requests: list[strawberry.ID] = strawberry.field(name="cancelledServiceOrderRequests")
    revised_party_orders: list[strawberry.ID]
    cancelled_party_orders: list[strawberry.ID]
    cancellation_requested_party_orders: list[strawberry.ID] = strawberry.field(
        description="Party orders asked to cancel (pendingCancellation until the party confirms)."
    )


@strawberry.type(description="What an amendment would do, computed and rolled back: nothing is committed.")
class AmendmentPreview:
    allowed: bool = strawberry.field(description="False: some item is past its point of no return (see refusals).")
    refusals: list[AmendmentRefusal]
    effects: AmendmentEffects
    revision: int = strawberry.field(description="The order's revision after the amendment.")
    expected_completion: datetime | None
    jeopardy_level: JeopardyLevel
    jeopardy_reason: str | None

    @classmethod
    def of(cls, preview: amendment_preview.AmendmentPreview) -> AmendmentPreview:
        ids = {
            k: [i if isinstance(i, str) else strawberry.ID(str(i)) for i in values] for k, values in vars(preview.effects).items()
        }
        ids["added_items"] = list(preview.effects.added_items)
        return cls(
            allowed=preview.allowed,
            refusals=[AmendmentRefusal(item_id=strawberry.ID(str(r.item_id)), reason=r.reason) for r in preview.refusals],
            effects=AmendmentEffects(**ids),
            revision=preview.revision,
            expected_completion=preview.expected_completion,
            jeopardy_level=JeopardyLevel(preview.jeopardy_level),
            jeopardy_reason=preview.jeopardy_reason,
        )
