"""Jeopardy queries and mutations: the policy, its dry run, and escalating a customer or party order by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from app.graphql.ids import parse_id
from app.graphql.permissions import Reader, Staff
from app.jeopardy import service, sweep
from app.jeopardy.graphql import types

if TYPE_CHECKING:
    from app.orders.graphql.types import CustomerOrder
    from app.party_orders.graphql.types import PartyOrder

CustomerOrderType = Annotated["CustomerOrder", strawberry.lazy("app.orders.graphql.types")]
PartyOrderType = Annotated["PartyOrder", strawberry.lazy("app.party_orders.graphql.types")]


@strawberry.type
class JeopardyQuery:
    @strawberry.field(permission_classes=[Reader], description="The local escalation policy in force.")
    def escalation_policy(self, info: Info) -> types.EscalationPolicy:
        info.context.varies_with("policy")  # this process's configuration, not stored data
        return types.EscalationPolicy.of(info.context.policy)

    @strawberry.field(
        permission_classes=[Reader],
        description="What the jeopardy monitor and the escalation policy would change now (a dry run: nothing changes).",
    )
    async def escalation_dry_run(self, info: Info) -> types.JeopardyDryRun:
        now = info.context.clock.now()
        settings = info.context.settings
        outcome = await sweep.dry_run(
            info.context.db, now, info.context.policy, settings.monitor_batch_orders, settings.monitor_batch_seconds
        )
        return types.JeopardyDryRun.of(now, outcome)


@strawberry.type
class JeopardyMutation:
    @strawberry.mutation(
        permission_classes=[Staff],
        description="Escalate (or de-escalate) a customer order by hand; recorded with who is to be notified.",
    )
    async def escalate_customer_order(
        self,
        info: Info,
        id: strawberry.ID,
        level: int,
        reason: str,
        notify: list[str] | None = None,
        version: int | None = None,
    ) -> CustomerOrderType:
        oid = parse_id(id)
        async with info.context.write() as uow:
            return await service.escalate_order(uow, oid, level, reason, notify or [], version, policy=info.context.policy)

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Escalate (or de-escalate) a party order by hand; recorded with who is to be notified.",
    )
    async def escalate_party_order(
        self,
        info: Info,
        id: strawberry.ID,
        level: int,
        reason: str,
        notify: list[str] | None = None,
        version: int | None = None,
    ) -> PartyOrderType:
        poid = parse_id(id)
        async with info.context.write() as uow:
            return await service.escalate_party_order(uow, poid, level, reason, notify or [], version, policy=info.context.policy)
