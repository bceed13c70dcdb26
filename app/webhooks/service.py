"""Registering, changing and inspecting webhooks (domain functions; no GraphQL, no HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth import Actor, Role
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, not_found
from app.event_visibility import CHANGE_SETS, EVENT_TYPES, Viewer, visible_event
from app.events import Event, last_sequence
from app.webhooks import documents, urls
from app.webhooks.catalogue import standard_name, standard_names_of
from app.webhooks.models import (
    ACTIVE,
    DELIVERED,
    FAILING,
    PAUSED,
    PENDING,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookLease,
)
from app.webhooks.payloads import PayloadFormat
from app.webhooks.signing import new_secret

MAX_EVENT_TYPES = 100
MAX_DELIVERIES_PAGE = 100


@dataclass
class WebhookInput:
    url: str | None = None
    event_types: list[str] | None = None
    payload_format: PayloadFormat | None = None
    document: str | None = None


def owner(webhook: Webhook) -> Actor:
    """Whose view of the events the webhook gets: its partner's, or the enterprise's."""
    return Actor(name=f"webhook:{webhook.id}", role=Role(webhook.owner_role), party_id=webhook.party_id)


def names_for(actor: Actor) -> dict[str, set[str]]:
    """Every name an actor's webhook may subscribe by (event types and their standard names) -> the event types."""
    names: dict[str, set[str]] = {}
    for event_type, declared in EVENT_TYPES.items():
        if actor.is_partner and declared.partner is None:
            continue
        for name in (event_type, *standard_names_of(event_type)):
            names.setdefault(name, set()).add(event_type)
    return names


def view_for(webhook: Webhook, event: Event) -> dict[str, Any] | None:
    """What the webhook's owner may see of the event (app/event_visibility.py decides), as the payloads want it."""
    shown = visible_event(event, Viewer.of(owner(webhook)))
    if shown is None:
        return None
    data = shown.data or {}
    return {
        "seq": shown.seq,
        "at": shown.at,
        "type": shown.type,
        "entity": shown.entity,
        "entity_id": shown.entity_id,
        "order_id": shown.order_id,
        "party_order_id": shown.party_order_id,
        "party_id": shown.party_id,
        "actor": shown.actor,
        "actor_role": shown.actor_role,
        "before": dict(data.get("before") or {}),
        "after": dict(data.get("after") or {}),
        "details": {k: v for k, v in data.items() if k not in CHANGE_SETS},
    }


def check_event_types(actor: Actor, given: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(n.strip() for n in given))
    if not wanted:
        raise InvalidInput("Name at least one event type (see the event catalogue).", field="eventTypes")
    if len(wanted) > MAX_EVENT_TYPES:
        raise InvalidInput(f"At most {MAX_EVENT_TYPES} event types.", field="eventTypes")
    known = names_for(actor)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        what = "event types a partner may receive" if actor.is_partner else "event types"
        raise InvalidInput(f"Unknown {what}: {', '.join(u[:64] for u in unknown[:5])}.", field="eventTypes", unknown=unknown[:20])
    return wanted


def matches(webhook: Webhook, event: Event) -> bool:
    """Whether the webhook asked for this event (by its type or by a standard name it travels under)."""
    wanted = webhook.event_types
    if event.type in wanted:
        return True
    std = standard_name(event.type, (event.data or {}).get("after"))
    return std is not None and std.name in wanted


def _require_owner_kind(actor: Actor) -> None:
    if not (actor.is_staff or actor.is_partner):
        raise Forbidden("Webhooks are managed with a staff or partner token.")


def _check_format(fmt: PayloadFormat, document: str | None) -> str | None:
    if fmt is PayloadFormat.GRAPHQL:
        return documents.check_document(document)
    if document is not None:
        raise InvalidInput("Only the GRAPHQL payload format takes a document.", field="document")
    return None


async def create_webhook(uow: UnitOfWork, data: WebhookInput, policy: urls.UrlPolicy) -> tuple[Webhook, str]:
    """Register a webhook; the secret is returned this once. It receives events from now on."""
    actor = uow.actor
    _require_owner_kind(actor)
    if data.url is None or data.event_types is None or data.payload_format is None:
        raise InvalidInput("A webhook needs a url, eventTypes and a payloadFormat.", field="input")
    target = await urls.check(data.url, policy)
    event_types = check_event_types(actor, data.event_types)
    document = _check_format(data.payload_format, data.document)
    secret = new_secret()
    webhook = Webhook(
        url=target.url,
        event_types=event_types,
        payload_format=data.payload_format.value,
        document=document,
        owner_role=Role.PARTNER.value if actor.is_partner else Role.STAFF.value,
        party_id=actor.party_id if actor.is_partner else None,
        created_by=actor.name,
        secret=secret,
        state=ACTIVE,
        cursor=await last_sequence(uow.session),
        created_at=uow.now,
        updated_at=uow.now,
    )
    uow.session.add(webhook)
    await uow.session.flush()
    return webhook, secret


def _visible(actor: Actor) -> Select[Webhook]:
    """The webhooks an actor may manage: staff all, a partner its party's."""
    query = select(Webhook)
    if actor.is_partner:
        query = query.where(col(Webhook.party_id) == actor.party_id, col(Webhook.owner_role) == Role.PARTNER.value)
    return query


async def get_webhook(session: AsyncSession, actor: Actor, webhook_id: int, *, for_update: bool = False) -> Webhook:
    _require_owner_kind(actor)
    query = _visible(actor).where(col(Webhook.id) == webhook_id)
    if for_update:
        query = query.with_for_update()
    found = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if found is None:
        raise not_found("Webhook", webhook_id)
    return found


async def list_webhooks(session: AsyncSession, actor: Actor) -> list[Webhook]:
    _require_owner_kind(actor)
    return list((await session.execute(_visible(actor).order_by(col(Webhook.id)))).scalars())


async def update_webhook(
    uow: UnitOfWork,
    webhook_id: int,
    data: WebhookInput,
    policy: urls.UrlPolicy,
    *,
    paused: bool | None = None,
    rotate_secret: bool = False,
    rotation_overlap: timedelta = timedelta(hours=24),
) -> tuple[Webhook, str | None]:
    """Change, pause, resume or re-key a webhook. A rotation keeps signing with the old secret too for a while."""
    url = (await urls.check(data.url, policy)).url if data.url is not None else None  # before any lock: it may resolve a name
    webhook = await get_webhook(uow.session, uow.actor, webhook_id, for_update=True)
    if url is not None:
        webhook.url = url
    if data.event_types is not None:
        webhook.event_types = check_event_types(uow.actor, data.event_types)
    fmt = data.payload_format or PayloadFormat(webhook.payload_format)
    if data.payload_format is not None or data.document is not None:
        webhook.document = _check_format(
            fmt, data.document if data.document is not None or fmt is not PayloadFormat.GRAPHQL else webhook.document
        )
        webhook.payload_format = fmt.value
    secret = None
    if rotate_secret:
        secret = new_secret()
        webhook.previous_secret, webhook.previous_secret_until = webhook.secret, uow.now + rotation_overlap
        webhook.secret = secret
    if paused is True:
        webhook.state = PAUSED
    elif paused is False and webhook.state in (PAUSED, FAILING):
        resume(webhook)
    changed = data.url is not None or data.event_types is not None or data.payload_format is not None or data.document is not None
    if not changed and paused is None and not rotate_secret:
        raise InvalidInput("The update changes nothing.", field="input")
    webhook.updated_at = uow.now
    await uow.session.flush()
    return webhook, secret


def resume(webhook: Webhook) -> None:
    """Deliver again now: the next attempt is not held back by an earlier backoff."""
    webhook.state, webhook.failure_reason, webhook.failures, webhook.next_attempt_at = ACTIVE, None, 0, None


async def delete_webhook(uow: UnitOfWork, webhook_id: int) -> int:
    webhook = await get_webhook(uow.session, uow.actor, webhook_id, for_update=True)
    deliveries = select(col(WebhookDelivery.id)).where(col(WebhookDelivery.webhook_id) == webhook_id)
    await uow.session.execute(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(deliveries)))
    await uow.session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == webhook_id))
    await uow.session.execute(delete(WebhookLease).where(col(WebhookLease.webhook_id) == webhook_id))
    await uow.session.delete(webhook)
    await uow.session.flush()
    return webhook_id


async def list_deliveries(
    session: AsyncSession, actor: Actor, webhook_id: int, *, first: int = 20, before: int | None = None
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The webhook's deliveries, newest first, each with its attempts (oldest first)."""
    await get_webhook(session, actor, webhook_id)
    if not 1 <= first <= MAX_DELIVERIES_PAGE:
        raise InvalidInput(f"first must be 1 to {MAX_DELIVERIES_PAGE}.", field="first")
    query = select(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == webhook_id)
    if before is not None:
        query = query.where(col(WebhookDelivery.id) < before)
    deliveries = list((await session.execute(query.order_by(col(WebhookDelivery.id).desc()).limit(first))).scalars())
    ids = [d.id for d in deliveries]
    attempts: dict[int, list[WebhookAttempt]] = {i: [] for i in ids if i is not None}
    if ids:
        rows = await session.execute(
            select(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(ids)).order_by(col(WebhookAttempt.id))
        )
        for attempt in rows.scalars():
            attempts[attempt.delivery_id].append(attempt)
    return [(d, attempts.get(d.id or 0, [])) for d in deliveries]


async def retry_delivery(uow: UnitOfWork, delivery_id: int) -> WebhookDelivery:
    """Try a failed or waiting delivery again now (and the webhook's later events after it, in order)."""
    delivery = await uow.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise not_found("Webhook delivery", delivery_id)
    try:
        webhook = await get_webhook(uow.session, uow.actor, delivery.webhook_id, for_update=True)
    except NotFound as exc:  # another party's delivery looks like a missing one
        raise not_found("Webhook delivery", delivery_id) from exc
    if delivery.state == DELIVERED:
        raise Conflict(f"Webhook delivery {delivery_id} was delivered already.", state=delivery.state)
    if webhook.state == PAUSED:
        raise Conflict(f"Webhook {webhook.id} is paused; resume it to deliver.", state=webhook.state)
    delivery.state, delivery.next_attempt_at = PENDING, None
    resume(webhook)
    await uow.session.flush()
    return delivery
