"""Tables of the jeopardy domain: escalation history, the sweep's mark and the monitor's lease (SQLite)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel, col

from app.columns import JSONType, UTCDateTime
from app.orders.models import Activity, CustomerOrder
from app.party_orders.models import PartyOrder

LEVELS = ("none", "atRisk", "jeopardy", "late")
RANK = {level: rank for rank, level in enumerate(LEVELS)}


class Escalation(SQLModel, table=True):
    """One change of an order's escalation level (a customer order's, or one of its party orders'), by policy or by hand."""

    __tablename__ = "escalation"
    __table_args__ = (
        Index("ix_escalation_order_id", "order_id", "id"),
        Index("ix_escalation_party_order_id", "party_order_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(sa_column=Column(Integer, ForeignKey("customer_order.id"), nullable=False))
    party_order_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("party_order.id"), nullable=True))
    from_level: int = Field(nullable=False)
    to_level: int = Field(nullable=False)
    jeopardy_level: str = Field(max_length=16, nullable=False)
    rule: str | None = Field(default=None, max_length=128)  # policy rule name; null when by hand
    reason: str | None = Field(default=None, max_length=1000)
    notify: list[str] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    actor: str = Field(max_length=128, nullable=False)
    manual: bool = Field(default=False, nullable=False)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class SweepMark(SQLModel, table=True):
    """How far the sweeps have read the event log, orders a sweep could not lock (looked at next time),
    and how far the pass in progress has come (a sweep works in batches, each its own transaction)."""

    __tablename__ = "jeopardy_sweep_mark"

    name: str = Field(max_length=64, primary_key=True)
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    pending: list[int] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    # A pass in progress reads the log up to pass_last_seq; its changed orders up to pass_order_id are
    # done. Both null between passes.
    pass_last_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    pass_order_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # The policy the last finished pass settled the open orders under (``Policy.digest``); null: not known.
    policy_digest: str | None = Field(default=None, max_length=32)


class MonitorLease(SQLModel, table=True):
    """Who leads the sweep until when (SQLite; PostgreSQL uses an advisory lock instead)."""

    __tablename__ = "monitor_lease"

    name: str = Field(max_length=64, primary_key=True)
    holder: str = Field(max_length=128, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


# Indexes the sweep relies on, declared here so the other domains stay untouched: recovery of rows
# whose stored level is not none, de-escalation of orders whose escalation level is above zero, and
# the rows whose next threshold time has come.
Index("ix_activity_jeopardy", Activity.jeopardy_level, Activity.state)
Index("ix_customer_order_escalation", col(CustomerOrder.escalation_level), col(CustomerOrder.jeopardy_level))
Index("ix_customer_order_jeopardy_check", col(CustomerOrder.jeopardy_check_at))
Index("ix_activity_jeopardy_check", col(Activity.jeopardy_check_at))
Index("ix_party_order_jeopardy_check", col(PartyOrder.jeopardy_check_at))
