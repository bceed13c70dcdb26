"""Party order queries and mutations: check who asks, call one domain function, return the row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from app.graphql.connection import Connection
from app.graphql.ids import parse_id
from app.graphql.permissions import Partner, Reader, SignedIn, Staff
from app.orders.graphql.enums import SortDirection
from app.party_orders import change_requests, partner, queries, service
from app.party_orders.graphql import inputs, types
from app.party_orders.graphql.enums import ChangeDecision, PartyOrderSortField, PartyOrderState


@strawberry.type
class PartyOrderQuery:
    @strawberry.field(permission_classes=[Reader], description="Parties (suppliers and partners) by name.")
    async def parties(self, info: Info, first: int = 20, after: str | None = None) -> Connection[types.Party]:
        async with info.context.db.read() as session:
            return Connection.of(await queries.list_parties(session, first=first, after=after))

    @strawberry.field(
        permission_classes=[SignedIn], description="One party order; null if unknown (or, for a partner, another party's)."
    )
    async def party_order(self, info: Info, id: strawberry.ID) -> types.PartyOrder | None:
        actor = info.context.signed_in
        async with info.context.db.read() as session:
            return await queries.get_party_order(session, parse_id(id), queries.scope(actor, None))

    @strawberry.field(permission_classes=[SignedIn], description="Party orders matching a filter; a partner sees only its own.")
    async def party_orders(
        self,
        info: Info,
        filter: inputs.PartyOrderFilter | None = None,
        sort: PartyOrderSortField = PartyOrderSortField.CREATED_AT,
        direction: SortDirection = SortDirection.DESC,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[types.PartyOrder]:
        f = filter.to_domain() if filter else queries.PartyOrderFilter()
        f.party_id = queries.scope(info.context.signed_in, f.party_id)
        now = info.context.clock.now() if f.report_overdue is not None else None  # only that filter depends on the time
        async with info.context.db.read() as session:
            page = await queries.list_party_orders(
                session, f, now, sort=sort.value, descending=direction is SortDirection.DESC, first=first, after=after
            )
        return Connection.of(page)

    @strawberry.field(permission_classes=[SignedIn], description="Change requests awaiting resolution, oldest first.")
    async def open_change_requests(
        self,
        info: Info,
        order_id: strawberry.ID | None = None,
        party_id: strawberry.ID | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[types.PartyChangeRequest]:
        oid = parse_id(order_id, "orderId") if order_id is not None else None
        pid = queries.scope(info.context.signed_in, parse_id(party_id, "partyId") if party_id is not None else None)
        async with info.context.db.read() as session:
            page = await queries.open_change_requests(session, party_id=pid, order_id=oid, first=first, after=after)
        return Connection.of(page)


@strawberry.type
class PartyOrderMutation:
    # --- enterprise staff ---
    @strawberry.mutation(permission_classes=[Staff], description="Register a supplier or partner.")
    async def create_party(self, info: Info, input: inputs.CreatePartyInput) -> types.Party:
        data = input.to_domain()
        async with info.context.write() as uow:
            return await service.create_party(uow, data)

    @strawberry.mutation(
        permission_classes=[Staff], description="Initiate a requisition: party orders for party-fulfilled items (idempotent)."
    )
    async def request_party_orders(self, info: Info, input: inputs.RequestPartyOrdersInput) -> list[types.PartyOrder]:
        order_id, req = input.to_domain()
        async with info.context.write() as uow:
            return await service.request_party_orders(uow, order_id, req)

    @strawberry.mutation(permission_classes=[Staff], description="Modify party order information from the party's feedback.")
    async def update_party_order(
        self, info: Info, id: strawberry.ID, version: int, input: inputs.UpdatePartyOrderInput
    ) -> types.PartyOrder:
        pid, changes = parse_id(id), input.to_domain()
        async with info.context.write() as uow:
            return await service.update_party_order(uow, pid, version, changes)

    @strawberry.mutation(
        permission_classes=[Staff], description="Move a party order to another state, as its state machine allows."
    )
    async def change_party_order_state(
        self, info: Info, id: strawberry.ID, state: PartyOrderState, reason: str | None = None, version: int | None = None
    ) -> types.PartyOrder:
        pid = parse_id(id)
        async with info.context.write() as uow:
            return await service.change_party_order_state(uow, pid, state.value, reason, version)

    @strawberry.mutation(
        permission_classes=[Staff], description="Cancel a party order no longer required (the party confirms if it acknowledged)."
    )
    async def cancel_party_order(
        self, info: Info, id: strawberry.ID, reason: str, version: int | None = None
    ) -> types.PartyOrder:
        pid = parse_id(id)
        async with info.context.write() as uow:
            return await service.cancel_party_order(uow, pid, reason, version)

    @strawberry.mutation(
        permission_classes=[Staff], description="Record a check-in with the party: when, with whom, outcome, new expected date."
    )
    async def record_party_check_in(
        self, info: Info, party_order_id: strawberry.ID, input: inputs.CheckInInput
    ) -> types.PartyCheckIn:
        pid, data = parse_id(party_order_id, "partyOrderId"), input.to_domain()
        async with info.context.write() as uow:
            return await service.record_check_in(uow, pid, data)

    @strawberry.mutation(permission_classes=[Staff], description="Add a milestone to a party order's delivery plan.")
    async def plan_party_milestone(
        self, info: Info, party_order_id: strawberry.ID, input: inputs.MilestoneInput
    ) -> types.PartyMilestone:
        pid, data = parse_id(party_order_id, "partyOrderId"), input.to_domain()
        async with info.context.write() as uow:
            return await service.plan_milestone(uow, pid, data)

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Accept a change request (dates change, customer order re-dated) or reject it with a note.",
    )
    async def resolve_party_change_request(
        self, info: Info, id: strawberry.ID, decision: ChangeDecision, note: str | None = None
    ) -> types.PartyChangeRequest:
        rid = parse_id(id)
        async with info.context.write() as uow:
            return await change_requests.resolve_change_request(uow, rid, decision is ChangeDecision.ACCEPT, note)

    # --- the party (partner token; every call carries an idempotency key) ---
    @strawberry.mutation(
        permission_classes=[Partner], description="Acknowledge an order with your reference and committed delivery date."
    )
    async def acknowledge_party_order(
        self, info: Info, id: strawberry.ID, idempotency_key: str, input: inputs.AcknowledgePartyOrderInput
    ) -> types.PartyOrder:
        pid, data = parse_id(id), input.to_domain()
        async with info.context.write() as uow:
            return await partner.acknowledge(uow, pid, idempotency_key, data)

    @strawberry.mutation(permission_classes=[Partner], description="Reject an order you have not acknowledged.")
    async def reject_party_order(self, info: Info, id: strawberry.ID, idempotency_key: str, reason: str) -> types.PartyOrder:
        pid = parse_id(id)
        async with info.context.write() as uow:
            return await partner.reject(uow, pid, idempotency_key, reason)

    @strawberry.mutation(
        permission_classes=[Partner], description="Report progress: percent, note, new expected date, milestone reached."
    )
    async def report_party_order_progress(
        self, info: Info, id: strawberry.ID, idempotency_key: str, input: inputs.ProgressReportInput
    ) -> types.PartyOrder:
        pid, data = parse_id(id), input.to_domain()
        ctx = info.context
        return await partner.submit_progress(ctx.db, ctx.signed_in, ctx.clock.now(), pid, idempotency_key, data)

    @strawberry.mutation(
        permission_classes=[Partner], description="Ask for a forced or requested change to the order or its delivery date."
    )
    async def request_party_order_change(
        self, info: Info, id: strawberry.ID, idempotency_key: str, input: inputs.ChangeRequestInput
    ) -> types.PartyChangeRequest:
        pid, data = parse_id(id), input.to_domain()
        async with info.context.write() as uow:
            return await partner.request_change(uow, pid, idempotency_key, data)

    @strawberry.mutation(
        permission_classes=[Partner], description="Acknowledge a revision of an order (the lines an amendment changed)."
    )
    async def acknowledge_party_order_revision(
        self, info: Info, id: strawberry.ID, revision: int, idempotency_key: str
    ) -> types.PartyOrder:
        pid = parse_id(id)
        async with info.context.write() as uow:
            return await partner.acknowledge_revision(uow, pid, idempotency_key, revision)

    @strawberry.mutation(
        permission_classes=[Partner], description="Reject a revision of an order; the enterprise gets a change request."
    )
    async def reject_party_order_revision(
        self, info: Info, id: strawberry.ID, revision: int, idempotency_key: str, reason: str
    ) -> types.PartyOrder:
        pid = parse_id(id)
        async with info.context.write() as uow:
            return await partner.reject_revision(uow, pid, idempotency_key, revision, reason)

    @strawberry.mutation(permission_classes=[Partner], description="Confirm a cancellation the enterprise asked for.")
    async def confirm_party_order_cancellation(
        self, info: Info, id: strawberry.ID, idempotency_key: str, note: str | None = None
    ) -> types.PartyOrder:
        pid = parse_id(id)
        async with info.context.write() as uow:
            return await partner.confirm_cancellation(uow, pid, idempotency_key, note)

    @strawberry.mutation(permission_classes=[Partner], description="Report the order delivered (completed).")
    async def report_party_order_completion(
        self, info: Info, id: strawberry.ID, idempotency_key: str, delivered_at: datetime | None = None, note: str | None = None
    ) -> types.PartyOrder:
        pid = parse_id(id)
        async with info.context.write() as uow:
            return await partner.report_completion(uow, pid, idempotency_key, delivered_at, note)


async def quick_report_progress(context: Any, arguments: dict[str, Any]) -> Any:
    """``reportPartyOrderProgress`` on the direct lane (``app/graphql/direct_lane.py``): the usual report only."""
    data = arguments["input"]
    if data.get("expectedDeliveryDate") is not None or data.get("milestoneId") is not None:
        return None
    report = partner.ProgressReport(percent_complete=data.get("percentComplete"), note=data.get("note"))
    return await partner.quick_progress(
        context.db, context.signed_in, context.clock.now(), parse_id(arguments["id"]), arguments["idempotencyKey"], report
    )


DIRECT_MUTATIONS = {"reportPartyOrderProgress": quick_report_progress}
