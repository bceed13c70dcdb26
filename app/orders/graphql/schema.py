"""Customer order queries and mutations: check who asks, call one domain function, return the row."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.graphql.connection import Connection
from app.graphql.ids import parse_id, parse_ids
from app.graphql.permissions import Reader, Staff
from app.orders import activities, amendment, amendment_preview, closing, loaders, queries, service, service_orders
from app.orders.graphql import inputs, types
from app.orders.graphql.enums import OrderSortField, OrderState, ServiceOrderRequestState, SortDirection


@strawberry.type
class CustomerOrderQuery:
    @strawberry.field(permission_classes=[Reader], description="One customer order with its whole tree; null if unknown.")
    async def customer_order(self, info: Info, id: strawberry.ID) -> types.CustomerOrder | None:
        return await info.context.loader(loaders.orders_by_id).load(parse_id(id))

    @strawberry.field(permission_classes=[Reader], description="Customer orders matching a filter, one page at a time.")
    async def customer_orders(
        self,
        info: Info,
        filter: inputs.CustomerOrderFilter | None = None,
        sort: OrderSortField = OrderSortField.CREATED_AT,
        direction: SortDirection = SortDirection.DESC,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[types.CustomerOrder]:
        f = filter.to_domain() if filter else queries.OrderFilter()
        async with info.context.db.read() as session:
            page = await queries.list_orders(
                session, f, sort=sort.value, descending=direction is SortDirection.DESC, first=first, after=after
            )
        return Connection.of(page)

    @strawberry.field(permission_classes=[Reader], description="An order's event timeline, oldest first.")
    async def order_timeline(
        self, info: Info, order_id: strawberry.ID, first: int = 50, after: str | None = None
    ) -> Connection[types.OrderEvent]:
        async with info.context.db.read() as session:
            page = await queries.timeline(session, parse_id(order_id, "orderId"), first=first, after=after)
        return types.visible_timeline(info, page)

    @strawberry.field(
        permission_classes=[Staff],
        description="What an amendment would do (items, work, party orders, dates, jeopardy), committing nothing.",
    )
    async def amendment_preview(
        self, info: Info, id: strawberry.ID, input: inputs.AmendCustomerOrderInput
    ) -> types.AmendmentPreview:
        oid, data = parse_id(id), input.to_domain()
        ctx = info.context
        preview = await amendment_preview.preview_amendment(ctx.db, ctx.signed_in, ctx.clock.now(), oid, data)
        return types.AmendmentPreview.of(preview)


@strawberry.type
class CustomerOrderMutation:
    @strawberry.mutation(permission_classes=[Staff], description="Take a customer order from a sales request.")
    async def create_customer_order(self, info: Info, input: inputs.CreateCustomerOrderInput) -> types.CustomerOrder:
        data = input.to_domain()
        async with info.context.write() as uow:
            return await service.create_order(uow, data)

    @strawberry.mutation(
        permission_classes=[Staff], description="Modify order information (dates, priority, contacts, characteristics)."
    )
    async def update_customer_order(
        self, info: Info, id: strawberry.ID, version: int, input: inputs.UpdateCustomerOrderInput
    ) -> types.CustomerOrder:
        order_id, changes = parse_id(id), input.to_domain()
        async with info.context.write() as uow:
            return await service.update_order(uow, order_id, version, changes)

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Amend an order in flight: add, modify and remove items as one new revision; an item past its point of no return refuses it whole (AMENDMENT_NOT_ALLOWED).",
    )
    async def amend_customer_order(
        self, info: Info, id: strawberry.ID, version: int, input: inputs.AmendCustomerOrderInput
    ) -> types.CustomerOrder:
        order_id, data = parse_id(id), input.to_domain()
        async with info.context.write() as uow:
            return await amendment.amend_order(uow, order_id, version, data)

    @strawberry.mutation(permission_classes=[Staff], description="Add a note to an order.")
    async def add_order_note(self, info: Info, order_id: strawberry.ID, text: str) -> types.OrderNote:
        oid = parse_id(order_id, "orderId")
        async with info.context.write() as uow:
            return await service.add_note(uow, oid, text)

    @strawberry.mutation(permission_classes=[Staff], description="Move an order to another state, as the state machine allows.")
    async def change_order_state(
        self, info: Info, id: strawberry.ID, state: OrderState, reason: str | None = None, version: int | None = None
    ) -> types.CustomerOrder:
        oid = parse_id(id)
        async with info.context.write() as uow:
            return await service.change_order_state(uow, oid, state.value, reason, version)

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Cancel an order whose sales request was cancelled; open work is cancelled with it.",
    )
    async def cancel_customer_order(
        self, info: Info, id: strawberry.ID, reason: str, version: int | None = None
    ) -> types.CustomerOrder:
        oid = parse_id(id)
        async with info.context.write() as uow:
            return await closing.cancel_order(uow, oid, reason, version)

    @strawberry.mutation(
        permission_classes=[Staff], description="Indicate completion; open work refuses it unless forced with a reason."
    )
    async def complete_customer_order(
        self, info: Info, id: strawberry.ID, force: bool = False, reason: str | None = None, version: int | None = None
    ) -> types.CustomerOrder:
        oid = parse_id(id)
        async with info.context.write() as uow:
            return await closing.complete_order(uow, oid, force, reason, version)

    @strawberry.mutation(
        permission_classes=[Staff], description="Schedule a provisioning activity for an order or one of its items."
    )
    async def schedule_activity(self, info: Info, order_id: strawberry.ID, input: inputs.ScheduleActivityInput) -> types.Activity:
        oid, data = parse_id(order_id, "orderId"), input.to_domain()
        async with info.context.write() as uow:
            return await activities.schedule_activity(uow, oid, data)

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Move an activity's planned dates or change its predecessors or the party orders it waits on.",
    )
    async def reschedule_activity(
        self,
        info: Info,
        id: strawberry.ID,
        version: int | None = None,
        planned_start: datetime | None = None,
        planned_end: datetime | None = None,
        predecessor_ids: list[strawberry.ID] | None = None,
        waits_on_party_order_ids: list[strawberry.ID] | None = None,
    ) -> types.Activity:
        aid = parse_id(id)
        preds = parse_ids(predecessor_ids, "predecessorIds") if predecessor_ids is not None else None
        waits = parse_ids(waits_on_party_order_ids, "waitsOnPartyOrderIds") if waits_on_party_order_ids is not None else None
        async with info.context.write() as uow:
            return await activities.reschedule_activity(uow, aid, version, planned_start, planned_end, preds, waits)

    @strawberry.mutation(permission_classes=[Staff], description="Assign an activity to a work group and person.")
    async def assign_activity(
        self, info: Info, id: strawberry.ID, work_group: str | None, assignee: str | None, version: int | None = None
    ) -> types.Activity:
        aid = parse_id(id)
        async with info.context.write() as uow:
            return await activities.assign_activity(uow, aid, version, work_group, assignee)

    @strawberry.mutation(permission_classes=[Staff], description="Record progress of an activity: state, percent, actual dates.")
    async def record_activity_progress(
        self, info: Info, id: strawberry.ID, input: inputs.ActivityProgressInput, version: int | None = None
    ) -> types.Activity:
        aid, progress = parse_id(id), input.to_domain()
        async with info.context.write() as uow:
            return await activities.record_progress(uow, aid, version, progress)

    @strawberry.mutation(
        permission_classes=[Staff], description="Request service orders for the internal items that need one (idempotent)."
    )
    async def generate_service_order_requests(self, info: Info, order_id: strawberry.ID) -> list[types.ServiceOrderRequest]:
        oid = parse_id(order_id, "orderId")
        async with info.context.write() as uow:
            return await service_orders.generate_service_order_requests(uow, oid)

    @strawberry.mutation(
        permission_classes=[Staff], description="Record what service ordering reports: its reference, the request's state."
    )
    async def update_service_order_request(
        self,
        info: Info,
        id: strawberry.ID,
        state: ServiceOrderRequestState | None = None,
        external_ref: str | None = None,
        note: str | None = None,
    ) -> types.ServiceOrderRequest:
        rid = parse_id(id)
        async with info.context.write() as uow:
            return await service_orders.update_service_order_request(uow, rid, state.value if state else None, external_ref, note)
