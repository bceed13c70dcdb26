"""The GRAPHQL payload format: a webhook's subscription document, run for each event it receives.

Its own small schema, ``subscription { event { ... } }``, whose ``event`` is the viewer's view of
the event (so a partner's document can select only what the partner may see). The document is
checked when the webhook is registered; each event then runs it once and sends ``data``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from graphql import (
    OperationDefinitionNode,
    OperationType,
    build_schema,
    parse,
    validate,
)
from graphql.error import GraphQLError
from strawberry.scalars import JSON
from strawberry.types import Info

from app.errors import InvalidInput
from app.webhooks.catalogue import standard_name

MAX_DOCUMENT_BYTES = 8 * 1024


@strawberry.type(description="One event as the webhook's owner may see it.")
class WebhookEvent:
    id: str = strawberry.field(description="The message id (webhook-id header), the same on every retry.")
    type: str = strawberry.field(description="ordertrack's event type, e.g. orderStateChanged.")
    standard_type: str | None = strawberry.field(description="Its TMF622/TMF641/MEF Sonata name, when it has one.")
    domain: str | None
    sequence: int
    at: datetime
    entity: str
    entity_id: strawberry.ID
    order_id: strawberry.ID | None
    party_order_id: strawberry.ID | None
    party_id: strawberry.ID | None
    before: JSON
    after: JSON
    details: JSON


def _event_of(view: dict[str, Any], msg_id: str) -> WebhookEvent:
    std = standard_name(view["type"], view["after"])

    def ident(value: int | None) -> strawberry.ID | None:
        return None if value is None else strawberry.ID(str(value))

    return WebhookEvent(
        id=msg_id,
        type=view["type"],
        standard_type=std.name if std else None,
        domain=std.domain if std else None,
        sequence=view["seq"],
        at=view["at"],
        entity=view["entity"],
        entity_id=strawberry.ID(str(view["entity_id"])),
        order_id=ident(view["order_id"]),
        party_order_id=ident(view["party_order_id"]),
        party_id=ident(view["party_id"]),
        before=view["before"],
        after=view["after"],
        details=view["details"],
    )


@strawberry.type
class PayloadQuery:
    @strawberry.field(description="Unused: webhook documents are subscriptions.")
    def ok(self) -> bool:
        return True


@strawberry.type
class PayloadSubscription:
    @strawberry.subscription(description="The event being delivered.")
    async def event(self, info: Info) -> AsyncGenerator[WebhookEvent, None]:
        yield info.context["event"]


PAYLOAD_SCHEMA = strawberry.Schema(query=PayloadQuery, subscription=PayloadSubscription)
CHECKED_SCHEMA = build_schema(PAYLOAD_SCHEMA.as_str())  # the same SDL, for graphql-core's public validate()


def check_document(document: str | None) -> str:
    """The document, if it is one subscription on ``event`` that the payload schema accepts (else INVALID_INPUT)."""
    if document is None or not document.strip():
        raise InvalidInput(
            "The GRAPHQL payload format needs a subscription document, e.g. 'subscription { event { type sequence } }'.",
            field="document",
        )
    if len(document.encode()) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"A webhook document has at most {MAX_DOCUMENT_BYTES} bytes.", field="document")
    try:
        ast = parse(document)
    except GraphQLError as exc:
        raise InvalidInput(f"The document does not parse: {exc.message}", field="document") from exc
    operations = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.SUBSCRIPTION:
        raise InvalidInput("The document must hold exactly one subscription operation.", field="document")
    if operations[0].variable_definitions:
        raise InvalidInput("A webhook document takes no variables.", field="document")
    errors = validate(CHECKED_SCHEMA, ast)
    if errors:
        raise InvalidInput(f"The document does not fit the webhook event schema: {errors[0].message}", field="document")
    return document


async def render(document: str, view: dict[str, Any], msg_id: str) -> dict[str, Any]:
    """Run the document for one event: the GraphQL result (``data``, and ``errors`` if any)."""
    stream = await PAYLOAD_SCHEMA.subscribe(document, context_value={"event": _event_of(view, msg_id)})
    if not isinstance(stream, AsyncGenerator):  # refused before it ran
        return {"errors": [e.formatted for e in getattr(stream, "errors", None) or []]}
    try:
        result = await stream.__anext__()
    finally:
        await stream.aclose()
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    return body
