"""Webhook queries and mutations: thin calls into app/webhooks/service.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import strawberry
from strawberry.permission import BasePermission
from strawberry.types import Info

from app.errors import Forbidden
from app.graphql.ids import parse_id
from app.graphql.permissions import SignedIn
from app.webhooks import catalogue, service
from app.webhooks.delivery import policy_of
from app.webhooks.graphql import types
from app.webhooks.payloads import PayloadFormat


@strawberry.input(description="A webhook: where, which events (types or their TMF/MEF names), and in which shape.")
class CreateWebhookInput:
    url: str
    event_types: list[str]
    payload_format: types.WebhookPayloadFormat  # type: ignore[valid-type]  # a strawberry enum made from a Python Enum at run time, not a class mypy knows
    document: str | None = strawberry.field(
        default=None, description="GRAPHQL format: a subscription such as 'subscription { event { type sequence after } }'."
    )


@strawberry.input(
    description="What to change; paused pauses or resumes (a failing webhook resumes at once); rotateSecret issues a new secret."
)
class UpdateWebhookInput:
    url: str | None = None
    event_types: list[str] | None = None
    payload_format: types.WebhookPayloadFormat | None = None  # type: ignore[valid-type]  # a strawberry enum made from a Python Enum at run time, not a class mypy knows
    document: str | None = None
    paused: bool | None = None
    rotate_secret: bool = False


class ManagesWebhooks(BasePermission):
    """Staff, or a partner (for its own party's webhooks); viewers may not."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        actor = info.context.signed_in  # UNAUTHENTICATED when nobody signed in
        if not (actor.is_staff or actor.is_partner):
            raise Forbidden("Webhooks are managed with a staff or partner token.")
        return True


def _nudge(info: Info) -> None:
    """This process delivers: let it see the change now (others see it at their next poll)."""
    deliverer = info.context.services.deliverer
    if deliverer is not None:
        deliverer.refresh()


def _not_cached(info: Info) -> None:
    info.context.varies_with("webhooks")  # webhook changes are not in the event log the response cache checks


def _format(value: object) -> PayloadFormat | None:
    return None if value is None else PayloadFormat(getattr(value, "value", value))


@strawberry.type
class WebhookQuery:
    @strawberry.field(
        permission_classes=[ManagesWebhooks], description="Webhooks: staff see all, a partner its party's. Viewers may not."
    )
    async def webhooks(self, info: Info) -> list[types.Webhook]:
        _not_cached(info)
        async with info.context.db.read() as session:
            return [types.Webhook.of(w) for w in await service.list_webhooks(session, info.context.signed_in)]

    @strawberry.field(
        permission_classes=[ManagesWebhooks], description="A webhook's deliveries, newest first, each with its attempts."
    )
    async def webhook_deliveries(
        self, info: Info, webhook_id: strawberry.ID, first: int = 20, before: strawberry.ID | None = None
    ) -> list[types.WebhookDelivery]:
        _not_cached(info)
        wid = parse_id(webhook_id, "webhookId")
        cut = parse_id(before, "before") if before is not None else None
        async with info.context.db.read() as session:
            found = await service.list_deliveries(session, info.context.signed_in, wid, first=first, before=cut)
        return [types.WebhookDelivery.of(d, attempts) for d, attempts in found]

    @strawberry.field(
        permission_classes=[SignedIn], description="Every event type: its fields, what partners see, its TMF/MEF name."
    )
    def event_catalogue(self, info: Info) -> list[types.EventTypeInfo]:
        return [
            types.EventTypeInfo(
                type=e["type"],
                entity=e["entity"],
                description=e["description"],
                standard_domain=e["standard"]["domain"] if e["standard"] else None,
                standard_names=e["standard"]["names"] if e["standard"] else [],
                fields=e["fields"],
                partner_fields=e["partner"],
            )
            for e in catalogue.catalogue()
        ]


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        permission_classes=[ManagesWebhooks],
        description="Register a webhook (staff, or a partner for its own party's events). The secret is shown once.",
    )
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> types.WebhookWithSecret:
        data = service.WebhookInput(
            url=input.url,
            event_types=list(input.event_types),
            payload_format=_format(input.payload_format),
            document=input.document,
        )
        async with info.context.write() as uow:
            webhook, secret = await service.create_webhook(uow, data, policy_of(info.context.settings))
        _nudge(info)
        return types.WebhookWithSecret(webhook=types.Webhook.of(webhook), secret=secret)

    @strawberry.mutation(
        permission_classes=[ManagesWebhooks],
        description="Change, pause, resume or rotate the secret of a webhook (a new secret is shown once).",
    )
    async def update_webhook(self, info: Info, id: strawberry.ID, input: UpdateWebhookInput) -> types.WebhookWithSecret:
        wid = parse_id(id)
        data = service.WebhookInput(
            url=input.url,
            event_types=list(input.event_types) if input.event_types is not None else None,
            payload_format=_format(input.payload_format),
            document=input.document,
        )
        overlap = timedelta(hours=info.context.settings.webhook_secret_overlap_hours)
        async with info.context.write() as uow:
            webhook, secret = await service.update_webhook(
                uow,
                wid,
                data,
                policy_of(info.context.settings),
                paused=input.paused,
                rotate_secret=input.rotate_secret,
                rotation_overlap=overlap,
            )
        _nudge(info)
        return types.WebhookWithSecret(webhook=types.Webhook.of(webhook), secret=secret)

    @strawberry.mutation(
        permission_classes=[ManagesWebhooks], description="Remove a webhook and its delivery log; returns its id."
    )
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        wid = parse_id(id)
        async with info.context.write() as uow:
            await service.delete_webhook(uow, wid)
        _nudge(info)
        return strawberry.ID(str(wid))

    @strawberry.mutation(
        permission_classes=[ManagesWebhooks],
        description="Try a waiting or failed delivery again now (later events follow it, in order).",
    )
    async def retry_webhook_delivery(self, info: Info, id: strawberry.ID) -> types.WebhookDelivery:
        did = parse_id(id)
        async with info.context.write() as uow:
            delivery = await service.retry_delivery(uow, did)
        _nudge(info)
        return types.WebhookDelivery.of(delivery, [])
