"""Imports every table so that metadata (create_all, Alembic) knows them all."""

from app.auth import ApiToken
from app.events import Event, EventSequence
from app.jeopardy.models import Escalation, MonitorLease
from app.orders.models import Activity, ActivityDependency, CustomerOrder, OrderItem, OrderNote, ServiceOrderRequest

__all__ = [
    "Activity",
    "ActivityDependency",
    "ApiToken",
    "CustomerOrder",
    "Escalation",
    "Event",
    "EventSequence",
    "MonitorLease",
    "OrderItem",
    "OrderNote",
    "ServiceOrderRequest",
]
