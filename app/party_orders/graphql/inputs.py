"""Input types, each with ``to_domain()`` giving the dataclass the domain functions take."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.ids import parse_id, parse_ids
from app.orders.graphql.enums import JeopardyLevel
from app.party_orders import change_requests, partner, service
from app.party_orders.graphql.enums import ChangeKind, ChangeNature, PartyKind, PartyOrderState
from app.party_orders.queries import PartyOrderFilter as DomainFilter


@strawberry.input
class CreatePartyInput:
    name: str
    kind: PartyKind
    reporting_interval_hours: int = strawberry.field(description="How often the party should report, in hours.")

    def to_domain(self) -> service.NewParty:
        return service.NewParty(name=self.name, kind=self.kind.value, reporting_interval_hours=self.reporting_interval_hours)


@strawberry.input(
    description="Without itemIds: every party-fulfilled item of the order not yet ordered, one party order per party."
)
class RequestPartyOrdersInput:
    order_id: strawberry.ID
    party_id: strawberry.ID | None = None
    item_ids: list[strawberry.ID] | None = None
    needed_by: datetime | None = strawberry.field(
        default=None, description="Default: the customer order's committed date; earlier allowed."
    )

    def to_domain(self) -> tuple[int, service.Requisition]:
        return parse_id(self.order_id, "orderId"), service.Requisition(
            party_id=parse_id(self.party_id, "partyId") if self.party_id is not None else None,
            item_ids=parse_ids(self.item_ids, "itemIds"),
            needed_by=self.needed_by,
        )


@strawberry.input(description="Information from the party's feedback; only the fields given change.")
class UpdatePartyOrderInput:
    party_reference: str | None = None
    committed_delivery_date: datetime | None = None
    expected_delivery_date: datetime | None = None
    needed_by: datetime | None = None
    note: str | None = None

    def to_domain(self) -> service.PartyOrderChanges:
        return service.PartyOrderChanges(
            party_ref=self.party_reference,
            committed_delivery=self.committed_delivery_date,
            expected_delivery=self.expected_delivery_date,
            needed_by=self.needed_by,
            note=self.note,
        )


@strawberry.input
class CheckInInput:
    at: datetime
    with_whom: str
    outcome: str
    new_expected_delivery_date: datetime | None = None

    def to_domain(self) -> service.NewCheckIn:
        return service.NewCheckIn(
            at=self.at, with_whom=self.with_whom, outcome=self.outcome, new_expected_delivery=self.new_expected_delivery_date
        )


@strawberry.input
class MilestoneInput:
    name: str
    planned_date: datetime

    def to_domain(self) -> service.NewMilestone:
        return service.NewMilestone(name=self.name, planned_date=self.planned_date)


@strawberry.input
class AcknowledgePartyOrderInput:
    party_reference: str
    committed_delivery_date: datetime
    milestones: list[MilestoneInput] | None = None

    def to_domain(self) -> partner.Acknowledgement:
        return partner.Acknowledgement(
            party_ref=self.party_reference,
            committed_delivery=self.committed_delivery_date,
            milestones=[m.to_domain() for m in self.milestones or []],
        )


@strawberry.input
class ProgressReportInput:
    percent_complete: int | None = None
    note: str | None = None
    expected_delivery_date: datetime | None = None
    milestone_id: strawberry.ID | None = strawberry.field(default=None, description="A milestone reached.")

    def to_domain(self) -> partner.ProgressReport:
        return partner.ProgressReport(
            percent_complete=self.percent_complete,
            note=self.note,
            expected_delivery=self.expected_delivery_date,
            milestone_id=parse_id(self.milestone_id, "milestoneId") if self.milestone_id is not None else None,
        )


@strawberry.input
class ChangeRequestInput:
    nature: ChangeNature
    kind: ChangeKind
    reason: str
    proposed_delivery_date: datetime | None = None

    def to_domain(self) -> change_requests.NewChangeRequest:
        return change_requests.NewChangeRequest(
            nature=self.nature.value, kind=self.kind.value, reason=self.reason, proposed_delivery=self.proposed_delivery_date
        )


@strawberry.input
class PartyOrderFilter:
    party_id: strawberry.ID | None = None
    order_id: strawberry.ID | None = None
    states: list[PartyOrderState] | None = None
    report_overdue: bool | None = strawberry.field(default=None, description="True: no report within the party's interval.")
    needed_from: datetime | None = strawberry.field(default=None, description="Needed-by on or after.")
    needed_to: datetime | None = strawberry.field(default=None, description="Needed-by before.")
    jeopardy_levels: list[JeopardyLevel] | None = None

    def to_domain(self) -> DomainFilter:
        return DomainFilter(
            party_id=parse_id(self.party_id, "partyId") if self.party_id is not None else None,
            order_id=parse_id(self.order_id, "orderId") if self.order_id is not None else None,
            states=[s.value for s in self.states or []],
            report_overdue=self.report_overdue,
            needed_from=self.needed_from,
            needed_to=self.needed_to,
            jeopardy_levels=[j.value for j in self.jeopardy_levels or []],
        )
