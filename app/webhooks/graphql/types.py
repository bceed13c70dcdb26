"""GraphQL types of webhooks: the endpoint, its deliveries and their attempts."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.webhooks import models
from app.webhooks.payloads import PayloadFormat

WebhookPayloadFormat = strawberry.enum(
    PayloadFormat,
    name="WebhookPayloadFormat",
    description="TMF: TMF622/TMF641/MEF envelope; THIN: ids only; GRAPHQL: shaped by the webhook's subscription document.",
)


@strawberry.enum(description="active: delivering; paused: by hand; failing: the next event keeps failing (see failureReason).")
class WebhookState(Enum):
    ACTIVE = models.ACTIVE
    PAUSED = models.PAUSED
    FAILING = models.FAILING


@strawberry.enum(
    description="pending: waiting for its next attempt; delivered; failed: gave up for now (the webhook is failing)."
)
class WebhookDeliveryState(Enum):
    PENDING = models.PENDING
    DELIVERED = models.DELIVERED
    FAILED = models.FAILED


@strawberry.type(description="An endpoint that receives events, signed per Standard Webhooks.")
class Webhook:
    id: strawberry.ID
    url: str
    event_types: list[str]
    payload_format: WebhookPayloadFormat  # type: ignore[valid-type]  # a strawberry enum made from a Python Enum at run time, not a class mypy knows
    document: str | None
    state: WebhookState
    failure_reason: str | None = strawberry.field(description="Why the webhook is failing, when it is.")
    party_id: strawberry.ID | None = strawberry.field(
        description="A partner's webhook: its party (it receives that party's events, partner fields only)."
    )
    created_by: str
    cursor: str = strawberry.field(description="The event-log sequence number delivered up to (or skipped as not wanted).")
    failures: int = strawberry.field(description="Failed attempts in a row at the next event.")
    next_attempt_at: datetime | None
    rotating_secret_until: datetime | None = strawberry.field(
        description="Until then both the new and the old secret sign each message."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, w: models.Webhook) -> Webhook:
        return cls(
            id=strawberry.ID(str(w.id)),
            url=w.url,
            event_types=list(w.event_types),
            payload_format=PayloadFormat(w.payload_format),
            document=w.document,
            state=WebhookState(w.state),
            failure_reason=w.failure_reason,
            party_id=strawberry.ID(str(w.party_id)) if w.party_id is not None else None,
            created_by=w.created_by,
            cursor=str(w.cursor),
            failures=w.failures,
            next_attempt_at=w.next_attempt_at,
            rotating_secret_until=w.previous_secret_until if w.previous_secret else None,
            created_at=w.created_at,
            updated_at=w.updated_at,
        )


@strawberry.type(description="The webhook with its signing secret, shown this once.")
class WebhookWithSecret:
    webhook: Webhook
    secret: str | None = strawberry.field(
        description="whsec_… (only when created or rotated; store it now, it is not shown again)."
    )


@strawberry.type(description="One HTTP request of a delivery.")
class WebhookAttempt:
    at: datetime
    status_code: int | None = strawberry.field(
        description="The receiver's HTTP status; null when no answer came (timeout, refused)."
    )
    duration_ms: float
    error: str | None

    @classmethod
    def of(cls, a: models.WebhookAttempt) -> WebhookAttempt:
        return cls(at=a.at, status_code=a.status_code, duration_ms=a.duration_ms, error=a.error)


@strawberry.type(description="One event sent to one webhook, with every attempt.")
class WebhookDelivery:
    id: strawberry.ID
    webhook_id: strawberry.ID
    message_id: str = strawberry.field(description="The webhook-id header, the same on every attempt.")
    event_sequence: int
    event_type: str
    state: WebhookDeliveryState
    attempt_count: int
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    attempts: list[WebhookAttempt]

    @classmethod
    def of(cls, d: models.WebhookDelivery, attempts: list[models.WebhookAttempt]) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(d.id)),
            webhook_id=strawberry.ID(str(d.webhook_id)),
            message_id=d.message_id,
            event_sequence=d.event_seq,
            event_type=d.event_type,
            state=WebhookDeliveryState(d.state),
            attempt_count=d.attempts,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
            next_attempt_at=d.next_attempt_at,
            attempts=[WebhookAttempt.of(a) for a in attempts],
        )


@strawberry.type(description="One event type of the catalogue.")
class EventTypeInfo:
    type: str
    entity: str
    description: str
    standard_domain: str | None
    standard_names: list[str]
    fields: list[str]
    partner_fields: list[str] | None = strawberry.field(
        description="What a partner of the event's party sees; null: never sent to partners."
    )
