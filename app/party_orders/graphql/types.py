"""Output types over party order rows. Partners see their own orders and only the parts of the
customer order they need (the items delivered, the needed-by date), never the customer order itself."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from app.graphql.permissions import Reader
from app.orders.graphql.enums import ItemAction, JeopardyLevel
from app.orders.graphql.types import Characteristic
from app.party_orders import loaders
from app.party_orders.graphql.enums import ChangeKind, ChangeNature, ChangeRequestState, PartyKind, PartyOrderState

if TYPE_CHECKING:
    from app.forecast.graphql.types import DeliveryStats, PartyOrderForecast
    from app.jeopardy.graphql.types import Escalation
    from app.orders.graphql.types import CustomerOrder


@strawberry.type(description="A supplier or partner delivering parts of customer orders.")
class Party:
    id: strawberry.ID
    name: str
    kind: PartyKind
    reporting_interval_hours: int = strawberry.field(description="How often the enterprise expects a progress report.")
    created_at: datetime

    @strawberry.field(
        permission_classes=[Reader], description="How reliably it delivered by its committed dates (enterprise only)."
    )
    async def delivery_stats(self, info: Info) -> Annotated[DeliveryStats, strawberry.lazy("app.forecast.graphql.types")]:
        from app.forecast.graphql.types import DeliveryStats
        from app.forecast.queries import party_delivery_stats

        async with info.context.db.read() as session:
            return DeliveryStats.of(await party_delivery_stats(session, self, info.context.policy))


@strawberry.type(description="A customer order item as the party sees it: what to deliver.")
class PartyOrderLine:
    product_ref: str
    action: ItemAction
    quantity: int

    @strawberry.field(description="The customer order item delivered.")
    def item_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.id))


@strawberry.type
class PartyMilestone:
    id: strawberry.ID
    name: str
    planned_date: datetime
    reached_at: datetime | None


@strawberry.type(description="A report from the party.")
class PartyProgressReport:
    id: strawberry.ID
    percent_complete: int | None
    note: str | None
    expected_delivery: datetime | None = strawberry.field(name="expectedDeliveryDate")
    milestone_id: strawberry.ID | None
    reported_by: str
    reported_at: datetime


@strawberry.type(description="An enterprise-driven interaction with the party.")
class PartyCheckIn:
    id: strawberry.ID
    at: datetime
    with_whom: str
    outcome: str
    new_expected_delivery: datetime | None = strawberry.field(name="newExpectedDeliveryDate")
    recorded_by: str
    recorded_at: datetime


@strawberry.type(description="A forced or requested change asked for by the party, and its resolution.")
class PartyChangeRequest:
    id: strawberry.ID
    party_order_id: strawberry.ID
    nature: ChangeNature
    kind: ChangeKind
    proposed_delivery: datetime | None = strawberry.field(name="proposedDeliveryDate")
    reason: str
    state: ChangeRequestState
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    raised_by: str
    created_at: datetime


@strawberry.type(description="A line a revision changed: its new quantity and characteristics, or deleted.")
class PartyOrderRevisionLine:
    item_id: strawberry.ID
    product_ref: str
    change: str = strawberry.field(description="modify or delete.")
    quantity: int = strawberry.field(description="The new quantity (0 when deleted).")
    previous_quantity: int
    characteristics: list[Characteristic]


@strawberry.type(
    description="A revision of a party order after an amendment of its customer order; the party acknowledges or rejects it."
)
class PartyOrderRevision:
    revision: int
    state: str = strawberry.field(description="open, acknowledged, rejected, or superseded by a newer revision.")
    reason: str | None = strawberry.field(description="Why the party rejected it.")
    change_request_id: strawberry.ID | None = strawberry.field(
        description="The change request staff got when the party rejected it."
    )
    created_at: datetime
    answered_at: datetime | None
    answered_by: str | None

    @strawberry.field
    def lines(self) -> list[PartyOrderRevisionLine]:
        return [
            PartyOrderRevisionLine(
                item_id=strawberry.ID(str(line["item_id"])),
                product_ref=line["product_ref"],
                change=line["change"],
                quantity=line["quantity"],
                previous_quantity=line["previous_quantity"],
                characteristics=[Characteristic(name=k, value=v) for k, v in sorted(line.get("characteristics", {}).items())],
            )
            for line in self.lines  # the row's JSON column under the resolver's name
        ]


@strawberry.type(description="An order placed with a party for items of one customer order.")
class PartyOrder:
    id: strawberry.ID
    party_id: strawberry.ID
    state: PartyOrderState
    state_reason: str | None
    needed_by: datetime = strawberry.field(description="When the customer order needs the delivery.")
    party_ref: str | None = strawberry.field(
        name="partyReference", description="The party's own reference, from its acknowledgement."
    )
    committed_delivery: datetime | None = strawberry.field(name="committedDeliveryDate")
    expected_delivery: datetime | None = strawberry.field(name="expectedDeliveryDate", description="The latest word on delivery.")
    percent_complete: int
    note: str | None
    acknowledged_at: datetime | None
    delivered_at: datetime | None
    last_report_at: datetime | None
    next_report_due: datetime | None
    jeopardy_level: JeopardyLevel
    jeopardy_reason: str | None
    escalation_level: int
    version: int = strawberry.field(description="Send it back with a change; a stale one is refused with CONFLICT.")
    revision: int = strawberry.field(description="The latest revision sent after amendments (0: as placed).")
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Revisions sent after amendments of the customer order, oldest first.")
    async def revisions(self, info: Info) -> list[PartyOrderRevision]:
        return await info.context.loader(loaders.revisions_by_party_order).load(self.id)

    @strawberry.field(
        permission_classes=[Reader],
        description="When it will be delivered, from the party's history (enterprise only); null until drawn.",
    )
    async def forecast(self, info: Info) -> Annotated[PartyOrderForecast, strawberry.lazy("app.forecast.graphql.types")] | None:
        from app.forecast.graphql.types import PartyOrderForecast
        from app.forecast.loaders import forecasts_by_order

        row = await info.context.loader(forecasts_by_order).load(int(self.order_id))
        entry = row.party_orders.get(str(self.id)) if row is not None else None
        return PartyOrderForecast.of(entry) if entry is not None else None

    @strawberry.field
    async def party(self, info: Info) -> Party:
        return await info.context.loader(loaders.parties_by_id).load(self.party_id)

    @strawberry.field(description="The customer order items this party order delivers.")
    async def lines(self, info: Info) -> list[PartyOrderLine]:
        return await info.context.loader(loaders.items_by_party_order).load(self.id)

    @strawberry.field(permission_classes=[Reader], description="The originating customer order (enterprise only).")
    async def customer_order(self, info: Info) -> Annotated[CustomerOrder, strawberry.lazy("app.orders.graphql.types")] | None:
        from app.orders import loaders as order_loaders

        return await info.context.loader(order_loaders.orders_by_id).load(self.order_id)

    @strawberry.field
    async def milestones(self, info: Info) -> list[PartyMilestone]:
        return await info.context.loader(loaders.milestones_by_party_order).load(self.id)

    @strawberry.field
    async def progress_reports(self, info: Info) -> list[PartyProgressReport]:
        return await info.context.loader(loaders.reports_by_party_order).load(self.id)

    @strawberry.field(permission_classes=[Reader], description="Enterprise check-ins (enterprise only).")
    async def check_ins(self, info: Info) -> list[PartyCheckIn] | None:
        return await info.context.loader(loaders.check_ins_by_party_order).load(self.id)

    @strawberry.field
    async def change_requests(self, info: Info) -> list[PartyChangeRequest]:
        return await info.context.loader(loaders.change_requests_by_party_order).load(self.id)

    @strawberry.field(
        permission_classes=[Reader],
        description="Escalations and de-escalations of this party order, oldest first (enterprise only).",
    )
    async def escalations(self, info: Info) -> list[Annotated[Escalation, strawberry.lazy("app.jeopardy.graphql.types")]] | None:
        from app.jeopardy.loaders import escalations_by_party_order

        return await info.context.loader(escalations_by_party_order).load(int(self.id))
