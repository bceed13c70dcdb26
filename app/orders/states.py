"""The customer order state machines (TM Forum TMF622 / TMF641 names), as data."""

from __future__ import annotations

from app.state_machine import machine

OPEN_ORDER = {"acknowledged", "inProgress", "pending", "held"}

ORDER = machine(
    "customer order",
    event="orderStateChanged",
    entity="order",
    initial="acknowledged",
    transitions={
        "acknowledged": {
            "inProgress",
            "pending",
            "held",
            "rejected",
            "assessingCancellation",
            "pendingCancellation",
            "cancelled",
        },
        "inProgress": {
            "pending",
            "held",
            "completed",
            "failed",
            "partial",
            "assessingCancellation",
            "pendingCancellation",
            "cancelled",
        },
        "pending": {"inProgress", "held", "failed", "assessingCancellation", "pendingCancellation", "cancelled"},
        "held": {"inProgress", "pending", "failed", "assessingCancellation", "pendingCancellation", "cancelled"},
        "assessingCancellation": {"inProgress", "pending", "held", "pendingCancellation", "cancelled"},
        "pendingCancellation": {"cancelled"},
        "cancelled": set(),
        "completed": set(),
        "failed": set(),
        "partial": set(),
        "rejected": set(),
    },
)

ITEM = machine(
    "order item",
    event="itemStateChanged",
    entity="item",
    initial="acknowledged",
    transitions={
        "acknowledged": {"inProgress", "pending", "held", "completed", "rejected", "cancelled", "pendingCancellation"},
        "inProgress": {"pending", "held", "completed", "failed", "cancelled", "pendingCancellation"},
        "pending": {"inProgress", "held", "completed", "failed", "cancelled", "pendingCancellation"},
        "held": {"inProgress", "pending", "completed", "failed", "cancelled", "pendingCancellation"},
        "assessingCancellation": {"inProgress", "pendingCancellation", "cancelled"},
        "pendingCancellation": {"cancelled"},
        "cancelled": set(),
        "completed": set(),
        "failed": set(),
        "rejected": set(),
    },
)

ACTIVITY = machine(
    "activity",
    event="activityStateChanged",
    entity="activity",
    initial="planned",
    transitions={
        "planned": {"inProgress", "held", "cancelled"},
        "inProgress": {"held", "completed", "failed", "cancelled"},
        "held": {"planned", "inProgress", "cancelled"},
        "completed": set(),
        "failed": set(),
        "cancelled": set(),
    },
)

SERVICE_ORDER_REQUEST = machine(
    "service order request",
    event="serviceOrderStateChanged",
    entity="serviceOrderRequest",
    initial="acknowledged",
    transitions={
        "acknowledged": {"inProgress", "rejected", "held", "cancelled"},
        "inProgress": {"held", "completed", "failed", "cancelled"},
        "held": {"inProgress", "cancelled", "failed"},
        "completed": set(),
        "failed": set(),
        "rejected": set(),
        "cancelled": set(),
    },
)

# Work whose state says nothing is left to do for its item.
WORK_DONE = {"completed"}
WORK_DROPPED = {"cancelled", "rejected"}
