"""Tables of the webhooks domain: the endpoints, their deliveries and each delivery's attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from app.columns import JSONType, UTCDateTime

ACTIVE, PAUSED, FAILING = "active", "paused", "failing"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class Webhook(SQLModel, table=True):
    """An endpoint events are pushed to, and how far it has been served (``cursor``: an event seq)."""

    __tablename__ = "webhook"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000, nullable=False)
    event_types: list[str] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    payload_format: str = Field(max_length=16, nullable=False)
    document: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    owner_role: str = Field(max_length=16, nullable=False)  # whose view of the events it gets: staff or partner
    party_id: int | None = Field(default=None, index=True)  # a partner's webhook: its party
    created_by: str = Field(max_length=128, nullable=False)
    secret: str = Field(max_length=128, nullable=False)
    previous_secret: str | None = Field(default=None, max_length=128)  # still signed with until previous_secret_until
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: str = Field(default=ACTIVE, max_length=16, nullable=False)
    failure_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    cursor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    failures: int = Field(default=0, nullable=False)  # failed attempts in a row at the event after the cursor
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class WebhookDelivery(SQLModel, table=True):
    """One event sent (or being sent) to one webhook; its message id is the same on every attempt."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_seq", name="uq_webhook_delivery_event"),
        Index("ix_webhook_delivery_webhook", "webhook_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(sa_column=Column(Integer, ForeignKey("webhook.id", ondelete="CASCADE"), nullable=False))
    event_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_type: str = Field(max_length=64, nullable=False)
    message_id: str = Field(max_length=64, nullable=False)
    state: str = Field(default=PENDING, max_length=16, nullable=False)
    attempts: int = Field(default=0, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """One HTTP request of a delivery: when, what came back, how long it took, what went wrong."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("ix_webhook_attempt_delivery", "delivery_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(sa_column=Column(Integer, ForeignKey("webhook_delivery.id", ondelete="CASCADE"), nullable=False))
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status_code: int | None = Field(default=None)
    duration_ms: float = Field(nullable=False)
    error: str | None = Field(default=None, max_length=1000)


class WebhookLease(SQLModel, table=True):
    """Which process delivers for a webhook until when (SQLite; PostgreSQL uses an advisory lock)."""

    __tablename__ = "webhook_lease"

    webhook_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    holder: str = Field(max_length=128, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
