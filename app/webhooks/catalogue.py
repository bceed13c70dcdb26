"""The event catalogue: every event type, its fields, who sees them, and its TMF or MEF name.

Generated from the declarations in ``app/event_visibility.py`` (fields, what partners see) and the
descriptions and standard names below; the README's section, ``GET /events/catalogue`` and the
``eventCatalogue`` query are all made from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.event_visibility import EVENT_TYPES

TMF622 = "TMF622 productOrdering"
TMF641 = "TMF641 serviceOrdering"
MEF = "MEF LSO Sonata productOrderingManagement"


@dataclass(frozen=True)
class StandardName:
    domain: str
    name: str
    resource: str  # the key the resource goes under in a TMF envelope's ``event``


def _tmf(name: str) -> StandardName:
    return StandardName(TMF622, name, "productOrder")


def _tmf641(name: str) -> StandardName:
    return StandardName(TMF641, name, "serviceOrder")


def _mef(name: str) -> StandardName:
    return StandardName(MEF, name, "productOrder")


# Customer orders are TMF622 product orders, service order requests TMF641 service orders, party
# orders MEF Sonata product orders (the enterprise is the buyer). Types with no standard event
# (a party registered, an internal check-in) have none and travel under their own name.
STANDARD_NAMES: dict[str, StandardName] = {
    "orderCreated": _tmf("productOrderCreateEvent"),
    "orderUpdated": _tmf("productOrderAttributeValueChangeEvent"),
    "orderStateChanged": _tmf("productOrderStateChangeEvent"),
    "expectedCompletionChanged": _tmf("productOrderAttributeValueChangeEvent"),
    "noteAdded": _tmf("productOrderAttributeValueChangeEvent"),
    "itemStateChanged": _tmf("productOrderStateChangeEvent"),
    "activityScheduled": _tmf("productOrderMilestoneEvent"),
    "activityRescheduled": _tmf("productOrderMilestoneEvent"),
    "activityAssigned": _tmf("productOrderMilestoneEvent"),
    "activityStateChanged": _tmf("productOrderMilestoneEvent"),
    "activityProgressed": _tmf("productOrderMilestoneEvent"),
    "jeopardyChanged": _tmf("productOrderJeopardyAlert"),
    "escalated": _tmf("productOrderJeopardyAlert"),
    "escalationLowered": _tmf("productOrderJeopardyAlert"),
    "serviceOrderRequested": _tmf641("serviceOrderCreateEvent"),
    "serviceOrderStateChanged": _tmf641("serviceOrderStateChangeEvent"),
    "serviceOrderReferenced": _tmf641("serviceOrderAttributeValueChangeEvent"),
    "serviceOrderNoted": _tmf641("serviceOrderAttributeValueChangeEvent"),
    "serviceOrderSupplemented": _tmf641("serviceOrderAttributeValueChangeEvent"),
    # An amendment changes the order's items (TMF622 productOrderItem actions add, modify, delete).
    "orderAmended": _tmf("productOrderAttributeValueChangeEvent"),
    "itemAdded": _tmf("productOrderAttributeValueChangeEvent"),
    "itemModified": _tmf("productOrderAttributeValueChangeEvent"),
    "itemRemoved": _tmf("productOrderAttributeValueChangeEvent"),
    "partyOrderCreated": _mef("productOrderStateChangeEvent"),
    "partyOrderStateChanged": _mef("productOrderStateChangeEvent"),
    "partyOrderCompleted": _mef("productOrderStateChangeEvent"),
    "partyOrderAcknowledged": _mef("productOrderItemExpectedCompletionDateSet"),
    "partyOrderCancellationRequested": _mef("cancelProductOrderStateChangeEvent"),
    "partyMilestonePlanned": _mef("productSpecificProductOrderItemMilestoneEvent"),
    "partyProgressReported": _mef("productSpecificProductOrderItemMilestoneEvent"),
}
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "orderCreated": ("order", "A customer order was taken."),
    "orderUpdated": ("order", "Attributes of a customer order changed (committed date, priority, ...)."),
    "orderStateChanged": ("order", "A customer order moved to another state."),
    "expectedCompletionChanged": ("order", "The date the order is now expected to complete changed."),
    "noteAdded": ("note", "A note was added to a customer order."),
    "itemStateChanged": ("item", "An order item moved to another state."),
    "activityScheduled": ("activity", "A provisioning activity was scheduled."),
    "activityRescheduled": ("activity", "A provisioning activity's planned window moved."),
    "activityAssigned": ("activity", "A provisioning activity was assigned."),
    "activityStateChanged": ("activity", "A provisioning activity moved to another state."),
    "activityProgressed": ("activity", "Progress was recorded on a provisioning activity."),
    "serviceOrderRequested": ("serviceOrderRequest", "A service order request was generated for an item."),
    "serviceOrderStateChanged": ("serviceOrderRequest", "A service order request moved to another state."),
    "serviceOrderReferenced": ("serviceOrderRequest", "A service order request got the fulfilment system's reference."),
    "serviceOrderNoted": ("serviceOrderRequest", "A note was put on a service order request."),
    "serviceOrderSupplemented": ("serviceOrderRequest", "A service order request got a supplement after its item was amended."),
    "orderAmended": (
        "order",
        "A customer order was amended in flight: a new revision, with the items it added, modified and removed.",
    ),
    "itemAdded": ("item", "An amendment added an item."),
    "itemModified": ("item", "An amendment changed an item's quantity or characteristics."),
    "itemRemoved": ("item", "An amendment removed an item (cancelled, or pending its party's confirmation)."),
    "partyOrderRevised": ("partyOrderRevision", "A party order got a new revision (changed lines) for the party to acknowledge."),
    "partyOrderRevisionAcknowledged": ("partyOrderRevision", "The party acknowledged a revision of its order."),
    "partyOrderRevisionRejected": (
        "partyOrderRevision",
        "The party rejected a revision of its order (staff get a change request).",
    ),
    "partyCreated": ("party", "A supplier or partner was registered."),
    "partyOrderCreated": ("partyOrder", "A party order was placed with a party."),
    "partyOrderUpdated": ("partyOrder", "Staff changed a party order (dates, note)."),
    "partyOrderStateChanged": ("partyOrder", "A party order moved to another state."),
    "partyOrderAcknowledged": ("partyOrder", "The party acknowledged the order with its reference and committed date."),
    "partyOrderCompleted": ("partyOrder", "The party reported the order delivered."),
    "partyOrderCancellationRequested": ("partyOrder", "The enterprise asked the party to cancel."),
    "partyCheckInRecorded": ("partyCheckIn", "Staff recorded a check-in call with the party."),
    "partyMilestonePlanned": ("partyMilestone", "A milestone of a party order was planned."),
    "partyProgressReported": ("partyProgressReport", "The party reported progress."),
    "partyChangeRequested": ("partyChangeRequest", "The party asked for a change (date, other)."),
    "partyChangeResolved": ("partyChangeRequest", "Staff accepted or declined a party's change request."),
    "jeopardyChanged": ("order, activity or partyOrder", "The jeopardy level of an order, activity or party order changed."),
    "escalated": ("order or partyOrder", "An order or party order was escalated."),
    "escalationLowered": ("order or partyOrder", "An order's or party order's escalation was lowered."),
    "apiTokenIssued": ("apiToken", "An API token was issued (never its secret)."),
    "apiTokenRevoked": ("apiToken", "An API token was revoked."),
}
# A customer order entering "pending" waits for information: TMF622 has an event of its own for that.
INFORMATION_REQUIRED = _tmf("productOrderInformationRequiredEvent")


def standard_name(event_type: str, after: dict[str, Any] | None = None) -> StandardName | None:
    """The standard name an event travels under (it may depend on the new state), or None."""
    if event_type == "orderStateChanged" and (after or {}).get("state") == "pending":
        return INFORMATION_REQUIRED
    return STANDARD_NAMES.get(event_type)


def standard_names_of(event_type: str) -> list[str]:
    """Every standard name an event type may travel under (a webhook may subscribe by any of them)."""
    names = [STANDARD_NAMES[event_type].name] if event_type in STANDARD_NAMES else []
    if event_type == "orderStateChanged":
        names.append(INFORMATION_REQUIRED.name)
    return names


def event_types() -> list[str]:
    return sorted(EVENT_TYPES)


def entry(event_type: str) -> dict[str, Any]:
    declared = EVENT_TYPES[event_type]
    std = STANDARD_NAMES.get(event_type)
    entity, description = DESCRIPTIONS.get(event_type, ("", ""))
    return {
        "type": event_type,
        "entity": entity,
        "description": description,
        "standard": {"domain": std.domain, "names": standard_names_of(event_type)} if std else None,
        "fields": sorted(declared.fields),
        "enterprise": sorted(declared.fields),  # staff and viewers see every field
        "partner": sorted(declared.partner) if declared.partner is not None else None,  # of its own party's events only
    }


def catalogue() -> list[dict[str, Any]]:
    """Every event type, as data (served at ``GET /events/catalogue``)."""
    return [entry(t) for t in event_types()]


BEGIN, END = (
    "<!-- event-catalogue:begin (generated by app/webhooks/catalogue.py; do not edit) -->",
    "<!-- event-catalogue:end -->",
)


def markdown() -> str:
    """The catalogue as the README's table (kept equal to the README by a test)."""
    lines = [
        BEGIN,
        "| Event type | What happened | Entity | Standard name | Fields (staff, viewers) | A partner of the event's party sees |",
        "|---|---|---|---|---|---|",
    ]
    for item in catalogue():
        std = item["standard"]
        name = " / ".join(f"`{n}`" for n in std["names"]) + f" ({std['domain']})" if std else "—"
        partner = "never (enterprise only)" if item["partner"] is None else ", ".join(item["partner"]) or "the event, no fields"
        lines.append(
            f"| `{item['type']}` | {item['description']} | {item['entity']} | {name} | {', '.join(item['fields'])} | {partner} |"
        )
    lines.append(END)
    return "\n".join(lines)
