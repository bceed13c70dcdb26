"""Who may see what of each event type: the one place that turns a logged event into a viewer's view.

Staff and viewers (the enterprise) see every field. A partner sees events of its own party only,
and of those only the fields listed for partners; an event type with no partner fields listed is
the enterprise's own business and never reaches a partner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.auth import Actor, Role
from app.events import Event


@dataclass(frozen=True)
class EventVisibility:
    """One event type: its fields (keys of before/after and the rest of ``data``) and the partner's share."""

    type: str
    entity: str
    description: str
    fields: tuple[str, ...]
    partner_fields: frozenset[str] | None = None  # None: partners never see this event type

    def seen_by(self, role: Role) -> tuple[str, ...]:
        """The fields a role sees of this event type (none for a partner when it is enterprise-only)."""
        if role is Role.PARTNER:
            return tuple(f for f in self.fields if self.partner_fields is not None and f in self.partner_fields)
        return self.fields


ORDER_FIELDS = ("state", "priority", "committed_date", "customer_name", "description", "contacts", "characteristics", "version")
ACTIVITY_FIELDS = ("kind", "state", "planned_start", "planned_end", "actual_start", "actual_end", "expected_end", "percent_complete",
                   "work_group", "assignee", "note")
PARTY_ORDER_FIELDS = ("state", "needed_by", "party_ref", "committed_delivery", "expected_delivery", "percent_complete", "version")
PARTNER_PARTY_ORDER = frozenset(PARTY_ORDER_FIELDS) | {"items", "delivered_at", "item_ids", "reason", "nature", "kind", "proposed_delivery", "name", "planned_date", "milestone"}


def _v(type: str, entity: str, description: str, fields: tuple[str, ...], partner: frozenset[str] | None = None) -> EventVisibility:
    return EventVisibility(type=type, entity=entity, description=description, fields=fields, partner_fields=partner)


CATALOGUE: dict[str, EventVisibility] = {v.type: v for v in (
    # Customer orders (the enterprise's own)
    _v("orderCreated", "order", "A customer order was taken.", (*ORDER_FIELDS, "sales_request_ref", "customer_id", "items")),
    _v("orderUpdated", "order", "Attributes of a customer order changed (committed date, priority, ...).", ORDER_FIELDS),
    _v("orderStateChanged", "order", "A customer order moved to another state.", ("state", "reason")),
    _v("expectedCompletionChanged", "order", "The date the order is now expected to complete changed.", ("expected_completion",)),
    _v("noteAdded", "note", "A note was added to a customer order.", ("text",)),
    _v("itemStateChanged", "item", "An order item moved to another state.", ("state", "reason")),
    _v("activityScheduled", "activity", "A provisioning activity was scheduled.", (*ACTIVITY_FIELDS, "predecessor_ids", "item_id")),
    _v("activityRescheduled", "activity", "A provisioning activity's planned window moved.", ACTIVITY_FIELDS),
    _v("activityAssigned", "activity", "A provisioning activity was assigned.", ACTIVITY_FIELDS),
    _v("activityStateChanged", "activity", "A provisioning activity moved to another state.", (*ACTIVITY_FIELDS, "reason")),
    _v("activityProgressed", "activity", "Progress was recorded on a provisioning activity.", ACTIVITY_FIELDS),
    # Service order requests
    _v("serviceOrderRequested", "serviceOrderRequest", "A service order request was generated for an item.", ("item_id", "product_ref", "action", "state")),
    _v("serviceOrderStateChanged", "serviceOrderRequest", "A service order request moved to another state.", ("state",)),
    _v("serviceOrderReferenced", "serviceOrderRequest", "A service order request got the fulfilment system's reference.", ("external_ref",)),
    _v("serviceOrderNoted", "serviceOrderRequest", "A note was put on a service order request.", ("note",)),
    # Parties and party orders (shared with the party, field by field)
    _v("partyCreated", "party", "A supplier or partner was registered.", ("name", "kind", "reporting_interval_hours")),
    _v("partyOrderCreated", "partyOrder", "A party order was placed with a party.", (*PARTY_ORDER_FIELDS, "note", "items"), PARTNER_PARTY_ORDER),
    _v("partyOrderUpdated", "partyOrder", "Staff changed a party order (dates, internal note).", (*PARTY_ORDER_FIELDS, "note"), PARTNER_PARTY_ORDER),
    _v("partyOrderStateChanged", "partyOrder", "A party order moved to another state.", ("state", "reason"), PARTNER_PARTY_ORDER),
    _v("partyOrderAcknowledged", "partyOrder", "The party acknowledged the order with its reference and committed date.", ("party_ref", "committed_delivery"), PARTNER_PARTY_ORDER),
    _v("partyOrderCompleted", "partyOrder", "The party reported the order delivered.", ("delivered_at", "party_ref", "item_ids"), PARTNER_PARTY_ORDER),
    _v("partyOrderCancellationRequested", "partyOrder", "The enterprise asked the party to cancel.", ("reason",), PARTNER_PARTY_ORDER),
    _v("partyCheckInRecorded", "partyCheckIn", "Staff recorded a check-in call with the party.", ("expected_delivery", "at", "with_whom", "outcome"), frozenset({"expected_delivery"})),
    _v("partyMilestonePlanned", "partyMilestone", "A milestone of a party order was planned.", ("name", "planned_date"), PARTNER_PARTY_ORDER),
    _v("partyProgressReported", "partyProgressReport", "The party reported progress.", ("percent_complete", "expected_delivery", "note", "milestone"), PARTNER_PARTY_ORDER | {"note"}),
    _v("partyChangeRequested", "partyChangeRequest", "The party asked for a change (date, other).", ("nature", "kind", "proposed_delivery", "reason", "state"), PARTNER_PARTY_ORDER),
    _v("partyChangeResolved", "partyChangeRequest", "Staff accepted or declined a party's change request.", ("state", "expected_delivery", "committed_delivery", "note"), PARTNER_PARTY_ORDER | {"note"}),
    # Jeopardy and escalation (the enterprise's own)
    _v("jeopardyChanged", "order", "The jeopardy level of an order, activity or party order changed.", ("jeopardy_level", "jeopardy_reason")),
    _v("escalated", "order", "An order or party order was escalated.", ("escalation_level", "jeopardy_level", "rule", "reason", "notify", "manual")),
    _v("escalationLowered", "order", "An order's or party order's escalation was lowered.", ("escalation_level", "jeopardy_level", "rule", "reason", "notify", "manual")),
)}


def visibility(event_type: str) -> EventVisibility | None:
    return CATALOGUE.get(event_type)


def _only(values: dict[str, Any], keep: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in keep}


def view_event(event: Event, viewer: Actor) -> dict[str, Any] | None:
    """What ``viewer`` may see of ``event`` (a dict of the event's fields), or None when nothing.

    Unknown event types reach the enterprise only (a new type is not shared until declared here).
    """
    data = event.data or {}
    base: dict[str, Any] = {
        "seq": event.seq, "at": event.at, "type": event.type, "entity": event.entity, "entity_id": event.entity_id,
        "order_id": event.order_id, "party_order_id": event.party_order_id, "party_id": event.party_id,
        "actor": event.actor, "actor_role": event.actor_role,
    }
    rest = {k: v for k, v in data.items() if k not in ("before", "after")}
    if viewer.role is not Role.PARTNER:
        return {**base, "before": dict(data.get("before") or {}), "after": dict(data.get("after") or {}), "details": rest}
    declared = CATALOGUE.get(event.type)
    if declared is None or declared.partner_fields is None or event.party_id is None or event.party_id != viewer.party_id:
        return None
    keep = declared.partner_fields
    base.update(order_id=None, actor="enterprise" if event.actor_role != Role.PARTNER.value else event.actor)
    return {**base, "before": _only(dict(data.get("before") or {}), keep), "after": _only(dict(data.get("after") or {}), keep),
            "details": _only(rest, keep)}
