"""The stored forecast of a customer order (and of its party orders), drawn by ``app/forecast/service.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from app.columns import JSONType, UTCDateTime


class OrderForecast(SQLModel, table=True):
    __tablename__ = "order_forecast"

    order_id: int = Field(sa_column=Column(Integer, ForeignKey("customer_order.id"), primary_key=True))
    completion_p50: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completion_p90: datetime | None = Field(default=None, sa_type=UTCDateTime)
    on_time_probability: float = Field(nullable=False)
    basis: str = Field(max_length=500, nullable=False)
    # [{kind, id, name}] from the first work to the last of the chain that most often decides completion
    critical_path: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    # party order id (as text) -> {p50, p90, probability}
    party_orders: dict[str, dict[str, Any]] = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    computed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
