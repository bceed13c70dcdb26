"""Customer orders, their item trees, provisioning activities and service order requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.columns import JSONType, UTCDateTime


class CustomerOrder(SQLModel, table=True):
    __tablename__ = "customer_order"
    __table_args__ = (
        Index("ix_customer_order_state_committed", "state", "committed_date"),
        Index("ix_customer_order_jeopardy", "jeopardy_level", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sales_request_ref: str = Field(max_length=64, nullable=False, unique=True)
    customer_id: str = Field(max_length=64, nullable=False, index=True)
    customer_name: str = Field(max_length=200, nullable=False)
    priority: str = Field(max_length=16, nullable=False, index=True)
    state: str = Field(max_length=32, nullable=False)
    description: str | None = Field(default=None, sa_column=Column(Text))
    requested_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    committed_date: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    expected_completion: datetime | None = Field(default=None, sa_type=UTCDateTime)
    jeopardy_level: str = Field(default="none", max_length=16, nullable=False)
    jeopardy_reason: str | None = Field(default=None, max_length=500)
    jeopardy_check_at: float | None = Field(default=None)  # epoch seconds; see app/jeopardy/rules.py
    jeopardy_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Finishing after this leaves too little slack, in the working time of whoever does the last
    # work (app/jeopardy/slack.py; kept by the reconciliation, read by the set-based rule).
    at_risk_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalation_level: int = Field(default=0, nullable=False)
    # The forecast's inputs (a digest of the open work's dates), when it is drawn again with no date
    # moved (epoch seconds), its chance of meeting the committed date and what decides it (app/forecast).
    forecast_key: str | None = Field(default=None, max_length=32)
    forecast_due_at: float | None = Field(default=None)
    forecast_on_time: float | None = Field(default=None)
    forecast_summary: str | None = Field(default=None, max_length=500)
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    characteristics: dict[str, str] = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    state_reason: str | None = Field(default=None, max_length=1000)
    version: int = Field(default=1, nullable=False)
    # How many amendments were accepted (app/orders/amendment.py); every amendment is a new revision.
    revision: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OrderNote(SQLModel, table=True):
    __tablename__ = "order_note"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(sa_column=Column(Integer, ForeignKey("customer_order.id"), nullable=False, index=True))
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=128, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class OrderItem(SQLModel, table=True):
    __tablename__ = "order_item"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(sa_column=Column(Integer, ForeignKey("customer_order.id"), nullable=False, index=True))
    parent_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("order_item.id"), nullable=True, index=True))
    position: int = Field(default=0, nullable=False)
    product_ref: str = Field(max_length=128, nullable=False)
    action: str = Field(max_length=16, nullable=False)
    quantity: int = Field(nullable=False)
    fulfillment: str = Field(max_length=16, nullable=False)  # internal | party
    party_id: int | None = Field(default=None, index=True)
    state: str = Field(max_length=32, nullable=False)
    characteristics: dict[str, str] = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


# The closed activities durations are learned from (``forecast/learning.py`` reads them, with this
# predicate written as literals so the planner can match it to the partial index below).
DONE_HISTORY = "state = 'completed' AND actual_start IS NOT NULL AND actual_end IS NOT NULL"


class Activity(SQLModel, table=True):
    """A provisioning activity scheduled for an order (or one of its items)."""

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_open_end", "state", "planned_end"),
        # Learned durations, newest first: only completed activities with both actual dates, the rows
        # the history query reads, so PostgreSQL walks it backwards and stops at the limit. Over every
        # activity it misestimated the completed share and sorted all of a kind's history (~100 ms at
        # 20k completed activities of one kind, against 0.4 ms).
        Index(
            "ix_activity_kind_group_done",
            "kind",
            "work_group",
            "actual_end",
            postgresql_where=text(DONE_HISTORY),
            sqlite_where=text(DONE_HISTORY),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(sa_column=Column(Integer, ForeignKey("customer_order.id"), nullable=False, index=True))
    item_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("order_item.id"), nullable=True, index=True))
    kind: str = Field(max_length=64, nullable=False)
    state: str = Field(max_length=32, nullable=False)
    planned_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    planned_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    actual_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    actual_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expected_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    percent_complete: int = Field(default=0, nullable=False)
    work_group: str | None = Field(default=None, max_length=128)
    assignee: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=2000)
    jeopardy_level: str = Field(default="none", max_length=16, nullable=False)
    jeopardy_reason: str | None = Field(default=None, max_length=500)
    jeopardy_check_at: float | None = Field(default=None)  # epoch seconds; see app/jeopardy/rules.py
    version: int = Field(default=1, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ActivityDependency(SQLModel, table=True):
    """``activity_id`` cannot start before ``predecessor_id`` is completed."""

    __tablename__ = "activity_dependency"

    activity_id: int = Field(sa_column=Column(Integer, ForeignKey("activity.id"), primary_key=True))
    predecessor_id: int = Field(sa_column=Column(Integer, ForeignKey("activity.id"), primary_key=True, index=True))


class ActivityPartyDependency(SQLModel, table=True):
    """``activity_id`` cannot start before the party order ``party_order_id`` (of the same customer order) delivers."""

    __tablename__ = "activity_party_dependency"

    activity_id: int = Field(sa_column=Column(Integer, ForeignKey("activity.id"), primary_key=True))
    party_order_id: int = Field(sa_column=Column(Integer, ForeignKey("party_order.id"), primary_key=True, index=True))


class ServiceOrderRequest(SQLModel, table=True):
    """A request to Issue Service Orders for one internally fulfilled item (TMF641 states)."""

    __tablename__ = "service_order_request"
    __table_args__ = (UniqueConstraint("item_id", name="uq_service_order_request_item"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(sa_column=Column(Integer, ForeignKey("customer_order.id"), nullable=False, index=True))
    item_id: int = Field(sa_column=Column(Integer, ForeignKey("order_item.id"), nullable=False))
    state: str = Field(max_length=32, nullable=False)
    external_ref: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=2000)
    # Supplements sent to Issue Service Orders after the item was amended (TMF641 supplemental orders).
    supplement: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
