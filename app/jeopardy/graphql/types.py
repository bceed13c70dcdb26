"""Output types of the jeopardy API: escalation history, the policy in force, the dry run."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from app.jeopardy.policy import Policy
from app.jeopardy.service import SweepOutcome
from app.orders.graphql.enums import JeopardyLevel


@strawberry.enum
class EscalationDirection(Enum):
    ESCALATE = "escalated"
    DEESCALATE = "escalationLowered"


@strawberry.type(
    description="One change of an escalation level (a customer order's, or one of its party orders'), by the policy or by hand."
)
class Escalation:
    id: strawberry.ID
    order_id: strawberry.ID = strawberry.field(description="The customer order (of the party order, when one was escalated).")
    party_order_id: strawberry.ID | None = strawberry.field(
        description="The party order escalated; null when the customer order was."
    )
    from_level: int
    to_level: int
    jeopardy_level: JeopardyLevel = strawberry.field(description="The order's jeopardy level at the time.")
    rule: str | None = strawberry.field(description="The policy rule that escalated; null when by hand or on recovery.")
    reason: str | None
    notify: list[str] = strawberry.field(description="Who was to be notified.")
    actor: str
    manual: bool
    at: datetime

    @strawberry.field
    def direction(self) -> EscalationDirection:
        return EscalationDirection.ESCALATE if self.to_level > self.from_level else EscalationDirection.DEESCALATE


@strawberry.type(description="One rule of the local escalation policy.")
class EscalationRule:
    name: str
    level: JeopardyLevel = strawberry.field(description="Applies at this jeopardy level or worse.")
    escalate_to: int
    after_seconds: int = strawberry.field(description="Time in the current jeopardy level before the rule applies.")
    notify: list[str]
    priorities: list[str] = strawberry.field(description="Empty: any priority (of the customer order).")
    customers: list[str] = strawberry.field(description="Empty: any customer.")
    applies_to: str = strawberry.field(description="customerOrder or partyOrder: what the rule escalates.")
    parties: list[str] = strawberry.field(description="Party names a partyOrder rule is narrowed to; empty: any.")


@strawberry.type(description="An escalation level and whom it reaches.")
class EscalationLevelName:
    level: int
    name: str


@strawberry.type(description="The escalation policy in force.")
class EscalationPolicy:
    at_risk_slack: float = strawberry.field(
        description=(
            "An order is atRisk when less than this share of its request-to-committed window is left after its open work, "
            "both measured in the working time of whoever does its last open work."
        )
    )
    rules: list[EscalationRule]
    levels: list[EscalationLevelName]

    @staticmethod
    def of(policy: Policy) -> EscalationPolicy:
        return EscalationPolicy(
            at_risk_slack=policy.at_risk_slack,
            rules=[
                EscalationRule(
                    name=r.name,
                    level=JeopardyLevel(r.level),
                    escalate_to=r.escalate_to,
                    after_seconds=int(r.after.total_seconds()),
                    notify=list(r.notify),
                    priorities=sorted(r.priorities),
                    customers=sorted(r.customers),
                    applies_to=r.applies_to,
                    parties=sorted(r.parties),
                )
                for r in policy.rules
            ],
            levels=[EscalationLevelName(level=k, name=v) for k, v in sorted(policy.levels.items())],
        )


@strawberry.type(description="A jeopardy level the next sweep would set.")
class PlannedLevelChange:
    entity: str = strawberry.field(description="order, activity or partyOrder")
    entity_id: strawberry.ID
    order_id: strawberry.ID | None
    from_level: JeopardyLevel
    to_level: JeopardyLevel
    reason: str | None


@strawberry.type(description="An escalation or de-escalation the next sweep would make.")
class PlannedEscalation:
    order_id: strawberry.ID
    party_order_id: strawberry.ID | None = strawberry.field(description="Set when a party order would be escalated.")
    direction: EscalationDirection
    from_level: int
    to_level: int
    rule: str | None
    reason: str | None
    notify: list[str]


@strawberry.type(description="What the monitor would do now; nothing has been changed.")
class JeopardyDryRun:
    at: datetime
    level_changes: list[PlannedLevelChange]
    escalations: list[PlannedEscalation]

    @staticmethod
    def of(at: datetime, outcome: SweepOutcome) -> JeopardyDryRun:
        levels, escalations = [], []
        for e in outcome.events:
            data: dict[str, Any] = e["data"]
            if e["type"] == "jeopardyChanged":
                levels.append(
                    PlannedLevelChange(
                        entity=e["entity"],
                        entity_id=strawberry.ID(str(e["entity_id"])),
                        order_id=strawberry.ID(str(e["order_id"])) if e["order_id"] else None,
                        from_level=JeopardyLevel(data["before"]["jeopardy_level"]),
                        to_level=JeopardyLevel(data["after"]["jeopardy_level"]),
                        reason=data["after"]["jeopardy_reason"],
                    )
                )
            elif e["type"] in ("escalated", "escalationLowered"):
                escalations.append(
                    PlannedEscalation(
                        order_id=strawberry.ID(str(e["order_id"])),
                        party_order_id=strawberry.ID(str(e["party_order_id"])) if e.get("party_order_id") else None,
                        direction=EscalationDirection(e["type"]),
                        from_level=data["before"]["escalation_level"],
                        to_level=data["after"]["escalation_level"],
                        rule=data.get("rule"),
                        reason=data.get("reason"),
                        notify=list(data.get("notify") or []),
                    )
                )
        return JeopardyDryRun(at=at, level_changes=levels, escalations=escalations)
