"""Assembles Query, Mutation (and Subscription) from the domains, with limits and error masking."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import Info

from app.access.graphql import AccessMutation, AccessQuery
from app.config import Settings
from app.forecast.graphql.schema import ForecastQuery
from app.graphql.errors import MaskUnexpectedErrors, QuietSchema
from app.graphql.execution import lean_resolvers
from app.graphql.limits import limit_extensions
from app.graphql.permissions import SignedIn
from app.graphql.response_cache import NoteOperationType
from app.graphql.scalars import SCALAR_OVERRIDES
from app.graphql.shared_events import SharedEventExecution
from app.graphql.suggestions import without_suggestions
from app.jeopardy.graphql.schema import JeopardyMutation, JeopardyQuery
from app.observability.graphql import OperationMetrics
from app.orders.graphql.schema import CustomerOrderMutation, CustomerOrderQuery
from app.party_orders.graphql.schema import PartyOrderMutation, PartyOrderQuery
from app.realtime.subscriptions import LiveQuery, LiveSubscription
from app.webhooks.graphql.schema import WebhookMutation, WebhookQuery


@strawberry.type(description="Who the token belongs to.")
class Principal:
    name: str
    role: str
    party_id: strawberry.ID | None


@strawberry.type
class SessionQuery:
    @strawberry.field(permission_classes=[SignedIn], description="The principal behind the token sent.")
    def me(self, info: Info) -> Principal:
        actor = info.context.signed_in
        info.context.varies_with("identity")  # the name is more than the role and party a cache keys by
        return Principal(
            name=actor.name, role=actor.role.value, party_id=strawberry.ID(str(actor.party_id)) if actor.party_id else None
        )


QUERIES: tuple[type, ...] = (
    SessionQuery,
    AccessQuery,
    CustomerOrderQuery,
    PartyOrderQuery,
    JeopardyQuery,
    ForecastQuery,
    LiveQuery,
    WebhookQuery,
)
MUTATIONS: tuple[type, ...] = (AccessMutation, CustomerOrderMutation, PartyOrderMutation, JeopardyMutation, WebhookMutation)
SUBSCRIPTIONS: tuple[type, ...] = (LiveSubscription,)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)
Subscription = merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    extensions = [OperationMetrics, *limit_extensions(settings), NoteOperationType, MaskUnexpectedErrors]
    built = QuietSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        scalar_overrides=SCALAR_OVERRIDES,
        config=StrawberryConfig(disable_field_suggestions=True),
        execution_context_class=SharedEventExecution if settings.suggestions else without_suggestions(SharedEventExecution),
    )
    lean_resolvers(built)
    return built


def direct_mutations(settings: Settings) -> dict[str, Any]:
    """Mutations the direct lane may answer (``app/graphql/direct_lane.py``); none when it is turned off or while
    a mutation rate limit is on (a strawberry extension the lane would bypass)."""
    from app.party_orders.graphql.schema import DIRECT_MUTATIONS

    return {**DIRECT_MUTATIONS} if settings.direct_lane and settings.mutation_rate_per_minute <= 0 else {}


schema = build_schema()
