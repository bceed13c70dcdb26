"""Who may see what of each event: declared once, per event type, for every outbound channel.

Staff, viewers and the service itself see every event whole. A partner sees only events of its own
party, of the types declared visible to partners, with the fields declared partner-visible and
nothing else (an allowlist: a field added to an event later stays enterprise-only until declared
here). The actor of an event is shown to a partner as a role ("staff", "system"), or by name when
the partner's own token acted; the customer order's id is enterprise-only.

Every event type the service records is declared in ``EVENT_TYPES``; ``UnitOfWork.record`` refuses
an undeclared one, so a new type cannot reach any channel without a decision about partners.
Subscriptions, replays, timelines and webhooks call ``visible_event`` (or ``visible_payload``).
Knows nothing of GraphQL, HTTP or the database.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

STAFF, VIEWER, PARTNER, SYSTEM = "staff", "viewer", "partner", "system"  # app.auth.Role values (a str enum)
ENTERPRISE_ROLES = frozenset({STAFF, VIEWER, SYSTEM})
# The parts of ``Event.data`` that hold changed fields; every other key of ``data`` is a field itself.
CHANGE_SETS = ("before", "after")


class EventLike(Protocol):
    """What an event offers, to be read: an ``app.events.Event`` row, or the (frozen) view of one made here."""

    @property
    def seq(self) -> int: ...

    @property
    def at(self) -> datetime: ...

    @property
    def type(self) -> str: ...

    @property
    def entity(self) -> str: ...

    @property
    def entity_id(self) -> int: ...

    @property
    def order_id(self) -> int | None: ...

    @property
    def party_order_id(self) -> int | None: ...

    @property
    def party_id(self) -> int | None: ...

    @property
    def actor(self) -> str: ...

    @property
    def actor_role(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


E = TypeVar("E", bound=EventLike)


@dataclass(frozen=True)
class EventType:
    """One event type: the data fields it carries, and which of them a partner may see (None: none, the
    event itself stays out of partners' sight)."""

    fields: frozenset[str]
    partner: frozenset[str] | None = None


def _type(fields: str, partner: str | None = None) -> EventType:
    names = frozenset(fields.split())
    shown = frozenset(partner.split()) if partner is not None else None
    assert shown is None or shown <= names, f"partner fields {shown - names} are not fields of the type"
    return EventType(names, shown)


ORDER_FIELDS = "state priority committed_date customer_name description contacts characteristics version"
ACTIVITY_FIELDS = (
    "kind state planned_start planned_end actual_start actual_end expected_end percent_complete work_group assignee note"
)
PARTY_ORDER_FIELDS = "state needed_by party_ref committed_delivery expected_delivery percent_complete note version"
JEOPARDY_FIELDS = "jeopardy_level jeopardy_reason"

EVENT_TYPES: Mapping[str, EventType] = {
    # Customer orders: the enterprise's own (no party sees them).
    "orderCreated": _type(
        f"{ORDER_FIELDS} sales_request_ref customer_id items activities serviceOrderRequests partyOrders generated"
    ),
    "orderUpdated": _type(ORDER_FIELDS),
    "noteAdded": _type("text"),
    "orderStateChanged": _type("state reason"),
    "itemStateChanged": _type("state reason"),
    "expectedCompletionChanged": _type("expected_completion"),
    "serviceOrderRequested": _type("item_id product_ref action state"),
    "serviceOrderStateChanged": _type("state reason"),
    "serviceOrderReferenced": _type("external_ref"),
    "serviceOrderNoted": _type("note"),
    "activityScheduled": _type(f"{ACTIVITY_FIELDS} predecessor_ids waits_on_party_order_ids item_id"),
    "activityRescheduled": _type(f"{ACTIVITY_FIELDS} predecessor_ids waits_on_party_order_ids revision reason"),
    "activityAssigned": _type(ACTIVITY_FIELDS),
    "activityStateChanged": _type("state reason"),
    "activityProgressed": _type(ACTIVITY_FIELDS),
    # Amendments (app/orders/amendment.py): the order's new revision and each change in it.
    "orderAmended": _type("revision added modified removed"),
    "itemAdded": _type("product_ref action quantity fulfillment party_id parent_id characteristics revision"),
    "itemModified": _type("quantity characteristics revision"),
    "itemRemoved": _type("state revision reason"),
    "serviceOrderSupplemented": _type("supplement quantity characteristics revision"),
    # Parties and their party orders: what PartyOrder shows a partner, it may see in events too.
    "partyCreated": _type("name kind reporting_interval_hours", "name kind reporting_interval_hours"),
    "partyOrderCreated": _type(f"{PARTY_ORDER_FIELDS} items", f"{PARTY_ORDER_FIELDS} items"),
    "partyOrderUpdated": _type(PARTY_ORDER_FIELDS, PARTY_ORDER_FIELDS),
    "partyOrderStateChanged": _type("state reason", "state reason"),
    "partyOrderAcknowledged": _type("party_ref committed_delivery", "party_ref committed_delivery"),
    "partyMilestonePlanned": _type("name planned_date", "name planned_date"),
    "partyProgressReported": _type(
        "percent_complete expected_delivery note milestone", "percent_complete expected_delivery note milestone"
    ),
    "partyChangeRequested": _type("nature kind proposed_delivery reason state", "nature kind proposed_delivery reason state"),
    "partyChangeResolved": _type(
        "state expected_delivery committed_delivery note", "state expected_delivery committed_delivery note"
    ),
    "partyOrderCancellationRequested": _type("reason", "reason"),
    # A revision's changed lines carry the items' characteristics: what the party must now deliver. The
    # customer order's revision number that caused it stays the enterprise's.
    "partyOrderRevised": _type("revision lines state order_revision", "revision lines state"),
    "partyOrderRevisionAcknowledged": _type("state revision", "state revision"),
    "partyOrderRevisionRejected": _type("state revision reason", "state revision reason"),
    "partyOrderCompleted": _type("delivered_at party_ref item_ids", "delivered_at party_ref item_ids"),
    # Enterprise check-ins (who was contacted, what they said) are FORBIDDEN on PartyOrder.checkIns to partners.
    "partyCheckInRecorded": _type("at with_whom outcome expected_delivery"),
    # Jeopardy: a party order's level and reason are on PartyOrder for its party; escalations are the enterprise's.
    "jeopardyChanged": _type(JEOPARDY_FIELDS, JEOPARDY_FIELDS),
    "escalated": _type("escalation_level jeopardy_level rule reason notify manual"),
    "escalationLowered": _type("escalation_level jeopardy_level rule reason notify manual"),
    # Access: tokens issued and revoked (never their secrets).
    "apiTokenIssued": _type("name role party_id expires_at revoked_at"),
    "apiTokenRevoked": _type("name role party_id expires_at revoked_at"),
}


class UndeclaredEventType(LookupError):
    """An event type with no visibility declaration: a programming error, caught before anything is stored."""


def require_declared(event_type: str) -> EventType:
    """The declaration of ``event_type``; UndeclaredEventType when it has none."""
    found = EVENT_TYPES.get(event_type)
    if found is None:
        raise UndeclaredEventType(f"event type {event_type!r} is not declared in app/event_visibility.py")
    return found


@dataclass(frozen=True)
class Viewer:
    """Who looks: a role (an ``app.auth.Role`` or its value) and, for a partner, its party."""

    role: str
    party_id: int | None = None

    @classmethod
    def of(cls, principal: Any) -> Viewer:
        """The viewer an ``app.auth.Actor`` (anything with ``role`` and ``party_id``) is."""
        return cls(role=_role(principal.role), party_id=principal.party_id)

    @property
    def sees_everything(self) -> bool:
        return self.role in ENTERPRISE_ROLES

    @property
    def visibility_class(self) -> Hashable:
        """Viewers of one class see the same of every event: renderings may be shared within a class, never across."""
        return ("enterprise",) if self.sees_everything else (self.role, self.party_id)


def _role(role: Any) -> str:
    return str(getattr(role, "value", role))


@dataclass(frozen=True, slots=True)
class EventView:
    """An event as one viewer may see it: the same attributes as ``app.events.Event``."""

    seq: int
    at: datetime
    type: str
    entity: str
    entity_id: int
    order_id: int | None
    party_order_id: int | None
    party_id: int | None
    actor: str
    actor_role: str
    data: dict[str, Any]


def _shown_data(data: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for key, value in data.items():
        if key in CHANGE_SETS:
            changes = value if isinstance(value, Mapping) else {}
            shown[key] = {k: v for k, v in changes.items() if k in allowed}
        elif key in allowed:
            shown[key] = value
    for key in CHANGE_SETS:
        shown.setdefault(key, {})
    return shown


def _shown_actor(event: EventLike) -> str:
    return event.actor if _role(event.actor_role) == PARTNER else _role(event.actor_role)


def visible_event(event: E, viewer: Viewer) -> E | EventView | None:
    """What ``viewer`` may see of ``event``: the event itself (enterprise viewers), a reduced copy
    (a partner, its own party's events of partner-visible types), or None (nothing)."""
    if viewer.sees_everything:
        return event
    declared = EVENT_TYPES.get(event.type)
    if viewer.role != PARTNER or declared is None or declared.partner is None:
        return None
    if viewer.party_id is None or event.party_id != viewer.party_id:
        return None
    return EventView(
        seq=event.seq,
        at=event.at,
        type=event.type,
        entity=event.entity,
        entity_id=event.entity_id,
        order_id=None,
        party_order_id=event.party_order_id,
        party_id=event.party_id,
        actor=_shown_actor(event),
        actor_role=_role(event.actor_role),
        data=_shown_data(event.data or {}, declared.partner),
    )


def visible_payload(event: EventLike, viewer: Viewer) -> dict[str, Any] | None:
    """``visible_event`` as the JSON-ready dict ``app.events.event_payload`` makes of a whole event (for webhooks)."""
    shown = visible_event(event, viewer)
    if shown is None:
        return None
    return {
        "seq": shown.seq,
        "at": shown.at.isoformat(),
        "type": shown.type,
        "entity": shown.entity,
        "entity_id": shown.entity_id,
        "order_id": shown.order_id,
        "party_order_id": shown.party_order_id,
        "party_id": shown.party_id,
        "actor": shown.actor,
        "actor_role": _role(shown.actor_role),
        "data": shown.data,
    }


def partner_fields(event_type: str) -> frozenset[str]:
    """The data fields of ``event_type`` a partner may see (empty when partners never see the type)."""
    return require_declared(event_type).partner or frozenset()
