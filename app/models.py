"""Imports every table so that metadata (create_all, Alembic) knows them all."""

from app.auth import ApiToken
from app.events import Event, EventSequence
from app.forecast.models import OrderForecast
from app.jeopardy.models import Escalation, MonitorLease
from app.orders.models import (
    Activity,
    ActivityDependency,
    ActivityPartyDependency,
    CustomerOrder,
    OrderItem,
    OrderNote,
    ServiceOrderRequest,
)
from app.party_orders.models import (
    Party,
    PartyChangeRequest,
    PartyCheckIn,
    PartyMilestone,
    PartyOrder,
    PartyOrderItem,
    PartyOrderRevision,
    PartyProgressReport,
    PartyRequestKey,
)
from app.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery, WebhookLease

__all__ = [
    "Activity",
    "ActivityDependency",
    "ActivityPartyDependency",
    "ApiToken",
    "CustomerOrder",
    "Escalation",
    "Event",
    "EventSequence",
    "MonitorLease",
    "OrderForecast",
    "OrderItem",
    "OrderNote",
    "Party",
    "PartyChangeRequest",
    "PartyCheckIn",
    "PartyMilestone",
    "PartyOrder",
    "PartyOrderItem",
    "PartyOrderRevision",
    "PartyProgressReport",
    "PartyRequestKey",
    "ServiceOrderRequest",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookLease",
]
