"""Enums of the party order API; values are the names stored in the database."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(
    description="Party order states (TMF622 / MEF LSO names). A new requisition is PENDING until the party acknowledges it."
)
class PartyOrderState(Enum):
    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "inProgress"
    HELD = "held"
    PENDING_CANCELLATION = "pendingCancellation"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"
    REJECTED = "rejected"


@strawberry.enum
class PartyKind(Enum):
    SUPPLIER = "supplier"
    PARTNER = "partner"


@strawberry.enum(description="FORCED: outside the party's control; REQUESTED: the party asks for it.")
class ChangeNature(Enum):
    FORCED = "forced"
    REQUESTED = "requested"


@strawberry.enum
class ChangeKind(Enum):
    DELIVERY_DATE = "deliveryDate"
    OTHER = "other"


@strawberry.enum
class ChangeRequestState(Enum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@strawberry.enum
class ChangeDecision(Enum):
    ACCEPT = "accept"
    REJECT = "reject"


@strawberry.enum
class PartyOrderSortField(Enum):
    CREATED_AT = "createdAt"
    NEEDED_BY = "neededBy"
    UPDATED_AT = "updatedAt"
