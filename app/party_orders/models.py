"""Parties, the orders placed with them, and what flows back: milestones, reports, check-ins, changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from app.columns import UTCDateTime


class Party(SQLModel, table=True):
    """A supplier or partner that delivers components of customer orders."""

    __tablename__ = "party"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, nullable=False, unique=True)
    kind: str = Field(max_length=16, nullable=False)  # supplier | partner
    reporting_interval_hours: int = Field(nullable=False)  # how often the enterprise expects a report
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class PartyOrder(SQLModel, table=True):
    """An order placed with a party for items of one customer order (the originating order)."""

    __tablename__ = "party_order"
    __table_args__ = (
        Index("ix_party_order_state_needed_by", "state", "needed_by"),
        Index("ix_party_order_state_report_due", "state", "next_report_due"),
        Index("ix_party_order_state_expected", "state", "expected_delivery"),
        Index("ix_party_order_jeopardy", "jeopardy_level", "state"),
        Index("ix_party_order_party_created", "party_id", "created_at"),
        Index("ix_party_order_party_delivered", "party_id", "delivered_at"),  # delivery reliability, newest first
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(sa_column=Column(Integer, ForeignKey("customer_order.id"), nullable=False, index=True))
    party_id: int = Field(sa_column=Column(Integer, ForeignKey("party.id"), nullable=False))
    state: str = Field(max_length=32, nullable=False)
    state_reason: str | None = Field(default=None, max_length=1000)
    needed_by: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Staff gave an earlier date than the customer order's committed one; otherwise it follows that date.
    needed_by_given: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    party_ref: str | None = Field(default=None, max_length=128)
    committed_delivery: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expected_delivery: datetime | None = Field(default=None, sa_type=UTCDateTime)
    percent_complete: int = Field(default=0, nullable=False)
    note: str | None = Field(default=None, sa_column=Column(Text))
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Read by the jeopardy monitor with set-based SQL: last word from the party and when the next is due.
    last_report_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_report_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    jeopardy_level: str = Field(default="none", max_length=16, nullable=False)
    jeopardy_reason: str | None = Field(default=None, max_length=500)
    jeopardy_check_at: float | None = Field(default=None)  # epoch seconds; see app/jeopardy/rules.py
    jeopardy_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalation_level: int = Field(default=0, nullable=False)
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class PartyOrderItem(SQLModel, table=True):
    """Which customer order items a party order delivers (``order_id`` kept for per-order loading)."""

    __tablename__ = "party_order_item"

    party_order_id: int = Field(sa_column=Column(Integer, ForeignKey("party_order.id"), primary_key=True))
    item_id: int = Field(sa_column=Column(Integer, ForeignKey("order_item.id"), primary_key=True, index=True))
    order_id: int = Field(sa_column=Column(Integer, ForeignKey("customer_order.id"), nullable=False, index=True))


class PartyMilestone(SQLModel, table=True):
    __tablename__ = "party_milestone"

    id: int | None = Field(default=None, primary_key=True)
    party_order_id: int = Field(sa_column=Column(Integer, ForeignKey("party_order.id"), nullable=False, index=True))
    name: str = Field(max_length=200, nullable=False)
    planned_date: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class PartyProgressReport(SQLModel, table=True):
    """A report the party sent, periodically or at a key event."""

    __tablename__ = "party_progress_report"

    id: int | None = Field(default=None, primary_key=True)
    party_order_id: int = Field(sa_column=Column(Integer, ForeignKey("party_order.id"), nullable=False, index=True))
    percent_complete: int | None = Field(default=None)
    note: str | None = Field(default=None, max_length=2000)
    expected_delivery: datetime | None = Field(default=None, sa_type=UTCDateTime)
    milestone_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("party_milestone.id"), nullable=True))
    reported_by: str = Field(max_length=128, nullable=False)
    reported_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class PartyCheckIn(SQLModel, table=True):
    """An enterprise-driven interaction with the party about one of its orders."""

    __tablename__ = "party_check_in"

    id: int | None = Field(default=None, primary_key=True)
    party_order_id: int = Field(sa_column=Column(Integer, ForeignKey("party_order.id"), nullable=False, index=True))
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    with_whom: str = Field(max_length=200, nullable=False)
    outcome: str = Field(max_length=2000, nullable=False)
    new_expected_delivery: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=128, nullable=False)
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class PartyChangeRequest(SQLModel, table=True):
    """A forced or requested change the party asks for; resolved at the originating customer order."""

    __tablename__ = "party_change_request"
    __table_args__ = (Index("ix_party_change_request_state_order", "state", "order_id"),)

    id: int | None = Field(default=None, primary_key=True)
    party_order_id: int = Field(sa_column=Column(Integer, ForeignKey("party_order.id"), nullable=False, index=True))
    order_id: int = Field(sa_column=Column(Integer, ForeignKey("customer_order.id"), nullable=False))
    party_id: int = Field(nullable=False, index=True)
    nature: str = Field(max_length=16, nullable=False)  # forced | requested
    kind: str = Field(max_length=16, nullable=False)  # deliveryDate | other
    proposed_delivery: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = Field(max_length=2000, nullable=False)
    state: str = Field(max_length=16, nullable=False)  # open | accepted | rejected
    resolution_note: str | None = Field(default=None, max_length=2000)
    resolved_by: str | None = Field(default=None, max_length=128)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    raised_by: str = Field(max_length=128, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class PartyRequestKey(SQLModel, table=True):
    """An idempotency key a party sent, with what it asked for and what it got (same transaction)."""

    __tablename__ = "party_request_key"
    __table_args__ = (UniqueConstraint("party_id", "key", name="uq_party_request_key"),)

    id: int | None = Field(default=None, primary_key=True)
    party_id: int = Field(nullable=False)
    key: str = Field(max_length=128, nullable=False)
    operation: str = Field(max_length=64, nullable=False)
    fingerprint: str = Field(max_length=64, nullable=False)
    result_kind: str = Field(max_length=32, nullable=False)  # partyOrder | changeRequest
    result_id: int = Field(nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
