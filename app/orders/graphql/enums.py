"""Enums of the customer order API; values are the TM Forum names stored in the database."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="TMF622 ProductOrder states.")
class OrderState(Enum):
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    PENDING = "pending"
    HELD = "held"
    IN_PROGRESS = "inProgress"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"
    PARTIAL = "partial"
    ASSESSING_CANCELLATION = "assessingCancellation"
    PENDING_CANCELLATION = "pendingCancellation"


@strawberry.enum(description="TMF622 ProductOrderItem states.")
class OrderItemState(Enum):
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    PENDING = "pending"
    HELD = "held"
    IN_PROGRESS = "inProgress"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"
    ASSESSING_CANCELLATION = "assessingCancellation"
    PENDING_CANCELLATION = "pendingCancellation"


@strawberry.enum
class ActivityState(Enum):
    PLANNED = "planned"
    IN_PROGRESS = "inProgress"
    HELD = "held"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@strawberry.enum(description="TMF641 ServiceOrder states used by service order requests.")
class ServiceOrderRequestState(Enum):
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "inProgress"
    HELD = "held"
    COMPLETED = "completed"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


@strawberry.enum
class Priority(Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


@strawberry.enum
class ItemAction(Enum):
    ADD = "add"
    MODIFY = "modify"
    DELETE = "delete"


@strawberry.enum(description="Who delivers an item: the enterprise itself, or another party.")
class Fulfillment(Enum):
    INTERNAL = "internal"
    PARTY = "party"


@strawberry.enum(description="How far an order or piece of work is from meeting its date.")
class JeopardyLevel(Enum):
    NONE = "none"
    AT_RISK = "atRisk"
    JEOPARDY = "jeopardy"
    LATE = "late"


@strawberry.enum
class OrderSortField(Enum):
    CREATED_AT = "createdAt"
    UPDATED_AT = "updatedAt"
    COMMITTED_DATE = "committedDate"
    SALES_REQUEST_REF = "salesRequestRef"
    PRIORITY = "priority"


@strawberry.enum
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"
