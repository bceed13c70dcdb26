"""Who may do what: every root operation, how to prepare it, and which roles may run it.

``OPERATIONS`` must name every root Query, Mutation and Subscription field (a test checks it). When a
domain adds an operation, add its entry here: a document, a ``prepare`` that builds the data it needs
(as staff) and returns the variables, and the roles allowed. Refused roles must get one of
``REFUSALS[role]`` and change nothing; a partner asking about another party's object gets NOT_FOUND,
the same answer as for an id that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.orders.queries import event_cursor
from tests.amend import ACK_REVISION, AMEND, PREVIEW, REJECT_REVISION
from tests.api import Api
from tests.factories import create_order, iso, order_input, schedule
from tests.party import (
    ACK,
    CANCEL_PO,
    CHANGE,
    CHECK_IN,
    COMPLETE,
    CONFIRM,
    CREATE_PARTY,
    MILESTONE,
    REJECT,
    REPORT,
    REQUEST,
    RESOLVE,
    STATE_PO,
    UPDATE_PO,
    acknowledge,
    key,
    order_with_party_items,
    requisition,
)

ROLES = ("anonymous", "viewer", "staff", "partner_a", "partner_b")
READERS = frozenset({"viewer", "staff"})
STAFF = frozenset({"staff"})
EVERYONE_SIGNED_IN = frozenset({"viewer", "staff", "partner_a", "partner_b"})
REFUSALS = {
    "anonymous": {"UNAUTHENTICATED"},
    "viewer": {"FORBIDDEN"},
    "staff": {"FORBIDDEN"},
    "partner_a": {"FORBIDDEN", "NOT_FOUND"},
    "partner_b": {"FORBIDDEN", "NOT_FOUND"},
}
MISSING_ID = "987654"

PARTNER_A = frozenset({"partner_a"})


@dataclass
class World:
    """What a ``prepare`` may use: staff and partner A's clients, the two parties, the time."""

    staff: Api
    partner_a: Api
    party_a: str
    party_b: str
    now: datetime


Prepare = Callable[[World], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Op:
    document: str
    allowed: frozenset[str]
    prepare: Prepare
    id_variables: tuple[str, ...] = ()  # variables holding ids: swapped for MISSING_ID in the existence check
    # Roles that may run it but must see none of partner A's objects (null or an empty list, never an error).
    # ``prepare`` names the object they must not see under the variable "_secret".
    scoped: frozenset[str] = frozenset()


async def _nothing(w: World) -> dict[str, Any]:
    return {}


async def _order(w: World) -> dict[str, Any]:
    staff, now = w.staff, w.now
    return {"id": (await create_order(staff, now))["id"]}


async def _order_in_progress(w: World) -> dict[str, Any]:
    staff, now = w.staff, w.now
    order = await create_order(staff, now)
    await staff.ok("mutation($id: ID!) { changeOrderState(id: $id, state: IN_PROGRESS) { id } }", {"id": order["id"]})
    return {"id": order["id"]}


async def _activity(w: World) -> dict[str, Any]:
    staff, now = w.staff, w.now
    order = await create_order(staff, now)
    return {"id": (await schedule(staff, order["id"], now))["id"], "end": (now + timedelta(days=5)).isoformat()}


async def _service_order_request(w: World) -> dict[str, Any]:
    staff, now = w.staff, w.now
    order = await create_order(staff, now)
    made = await staff.ok("mutation($id: ID!) { generateServiceOrderRequests(orderId: $id) { id } }", {"id": order["id"]})
    return {"id": made["generateServiceOrderRequests"][0]["id"]}


async def _new_order_input(w: World) -> dict[str, Any]:
    return {"input": order_input(w.now)}


async def _schedule_input(w: World) -> dict[str, Any]:
    staff, now = w.staff, w.now
    order = await create_order(staff, now)
    window = {
        "kind": "install",
        "plannedStart": (now + timedelta(days=1)).isoformat(),
        "plannedEnd": (now + timedelta(days=2)).isoformat(),
    }
    return {"id": order["id"], "input": window}


OPERATIONS: dict[str, Op] = {
    # Queries
    "me": Op("{ me { name role } }", EVERYONE_SIGNED_IN, _nothing),
    "eventLogCursor": Op("{ eventLogCursor }", EVERYONE_SIGNED_IN, _nothing),
    "customerOrder": Op("query($id: ID!) { customerOrder(id: $id) { id state } }", READERS, _order, ("id",)),
    "customerOrders": Op("{ customerOrders(first: 10) { edges { node { id } } totalCount } }", READERS, _order),
    "orderTimeline": Op(
        "query($id: ID!) { orderTimeline(orderId: $id, first: 10) { edges { cursor } } }", READERS, _order, ("id",)
    ),
    # Customer order mutations: staff only
    "createCustomerOrder": Op(
        "mutation($input: CreateCustomerOrderInput!) { createCustomerOrder(input: $input) { id } }", STAFF, _new_order_input
    ),
    "updateCustomerOrder": Op(
        "mutation($id: ID!) { updateCustomerOrder(id: $id, version: 1, input: {priority: HIGH}) { version } }",
        STAFF,
        _order,
        ("id",),
    ),
    "addOrderNote": Op(
        'mutation($id: ID!) { addOrderNote(orderId: $id, text: "call the customer") { id } }', STAFF, _order, ("id",)
    ),
    "changeOrderState": Op(
        "mutation($id: ID!) { changeOrderState(id: $id, state: IN_PROGRESS) { state } }", STAFF, _order, ("id",)
    ),
    "cancelCustomerOrder": Op(
        'mutation($id: ID!) { cancelCustomerOrder(id: $id, reason: "sales request cancelled") { state } }', STAFF, _order, ("id",)
    ),
    "completeCustomerOrder": Op(
        'mutation($id: ID!) { completeCustomerOrder(id: $id, force: true, reason: "done on site") { state } }',
        STAFF,
        _order_in_progress,
        ("id",),
    ),
    "scheduleActivity": Op(
        "mutation($id: ID!, $input: ScheduleActivityInput!) { scheduleActivity(orderId: $id, input: $input) { id } }",
        STAFF,
        _schedule_input,
        ("id",),
    ),
    "rescheduleActivity": Op(
        "mutation($id: ID!, $end: DateTime!) { rescheduleActivity(id: $id, plannedEnd: $end) { version } }",
        STAFF,
        _activity,
        ("id",),
    ),
    "assignActivity": Op(
        'mutation($id: ID!) { assignActivity(id: $id, workGroup: "field", assignee: "ann") { id } }', STAFF, _activity, ("id",)
    ),
    "recordActivityProgress": Op(
        "mutation($id: ID!) { recordActivityProgress(id: $id, input: {state: IN_PROGRESS}) { state } }", STAFF, _activity, ("id",)
    ),
    "generateServiceOrderRequests": Op(
        "mutation($id: ID!) { generateServiceOrderRequests(orderId: $id) { id } }", STAFF, _order, ("id",)
    ),
    "updateServiceOrderRequest": Op(
        'mutation($id: ID!) { updateServiceOrderRequest(id: $id, externalRef: "SO-1") { id } }',
        STAFF,
        _service_order_request,
        ("id",),
    ),
}


async def _party_order(w: World) -> dict[str, Any]:
    """A pending party order of party A (partner A's), on a customer order of its own."""
    order = await order_with_party_items(w.staff, w.now, w.party_a)
    (po,) = await requisition(w.staff, order["id"])
    return {"id": po["id"], "_secret": po["id"], "_order": order["id"]}


async def _acknowledged_party_order(w: World) -> dict[str, Any]:
    found = await _party_order(w)
    await acknowledge(w.partner_a, found["id"], w.now)
    return found


async def _party_order_awaiting_cancellation(w: World) -> dict[str, Any]:
    found = await _acknowledged_party_order(w)
    await w.staff.ok(CANCEL_PO, {"id": found["id"], "reason": "no longer needed"})
    return found


async def _change_request(w: World) -> dict[str, Any]:
    found = await _acknowledged_party_order(w)
    request = {
        "nature": "FORCED",
        "kind": "DELIVERY_DATE",
        "reason": "strike",
        "proposedDeliveryDate": iso(w.now + timedelta(days=25)),
    }
    made = await w.partner_a.ok(CHANGE, {"id": found["id"], "key": key(), "input": request})
    return {"id": made["requestPartyOrderChange"]["id"], "_secret": made["requestPartyOrderChange"]["id"]}


async def _revised_party_order(w: World) -> dict[str, Any]:
    """Partner A's acknowledged party order, with revision 1 open after an amendment of its line."""
    found = await _acknowledged_party_order(w)
    order = (await w.staff.ok("query($id: ID!) { customerOrder(id: $id) { version allItems { id } } }", {"id": found["_order"]}))[
        "customerOrder"
    ]
    changes = {"modify": [{"itemId": order["allItems"][0]["id"], "quantity": 5}]}
    await w.staff.ok(AMEND, {"id": found["_order"], "version": order["version"], "input": changes})
    return {**found, "revision": 1}


async def _order_with_party_item(w: World) -> dict[str, Any]:
    order = await order_with_party_items(w.staff, w.now, w.party_a)
    return {"input": {"orderId": order["id"]}}


async def _new_party(w: World) -> dict[str, Any]:
    return {"input": {"name": "Fibre Co", "kind": "SUPPLIER", "reportingIntervalHours": 24}}


def plus(prepare: Prepare, make: Callable[[World, dict[str, Any]], dict[str, Any]]) -> Prepare:
    """``prepare``, then more variables computed from the world and what it made."""

    async def run(w: World) -> dict[str, Any]:
        found = await prepare(w)
        return {**found, **make(w, found)}

    return run


PARTY_OPERATIONS: dict[str, Op] = {
    "parties": Op("{ parties(first: 10) { edges { node { id name } } } }", READERS, _nothing),
    "partyOrder": Op(
        "query($id: ID!) { partyOrder(id: $id) { id state } }",
        READERS | PARTNER_A,
        _party_order,
        ("id",),
        scoped=frozenset({"partner_b"}),
    ),
    "partyOrders": Op(
        "{ partyOrders(first: 10) { edges { node { id } } } }", READERS | PARTNER_A, _party_order, scoped=frozenset({"partner_b"})
    ),
    "openChangeRequests": Op(
        "{ openChangeRequests(first: 10) { edges { node { id } } } }",
        READERS | PARTNER_A,
        _change_request,
        scoped=frozenset({"partner_b"}),
    ),
    "createParty": Op(CREATE_PARTY, STAFF, _new_party),
    "requestPartyOrders": Op(REQUEST, STAFF, _order_with_party_item),
    "updatePartyOrder": Op(
        UPDATE_PO, STAFF, plus(_party_order, lambda w, f: {"version": 1, "input": {"note": "called them"}}), ("id",)
    ),
    "changePartyOrderState": Op(
        STATE_PO, STAFF, plus(_party_order, lambda w, f: {"state": "HELD", "reason": "waiting on permits"}), ("id",)
    ),
    "cancelPartyOrder": Op(CANCEL_PO, STAFF, plus(_party_order, lambda w, f: {"reason": "not needed"}), ("id",)),
    "recordPartyCheckIn": Op(
        CHECK_IN,
        STAFF,
        plus(_party_order, lambda w, f: {"input": {"at": iso(w.now), "withWhom": "Bo", "outcome": "on track"}}),
        ("id",),
    ),
    "planPartyMilestone": Op(
        MILESTONE,
        STAFF,
        plus(_party_order, lambda w, f: {"input": {"name": "survey", "plannedDate": iso(w.now + timedelta(days=3))}}),
        ("id",),
    ),
    "resolvePartyChangeRequest": Op(
        RESOLVE, STAFF, plus(_change_request, lambda w, f: {"decision": "ACCEPT", "note": "ok"}), ("id",)
    ),
    # The party's own operations: partner A on its order; partner B gets NOT_FOUND, like for a missing id.
    "acknowledgePartyOrder": Op(
        ACK,
        PARTNER_A,
        plus(
            _party_order,
            lambda w, f: {
                "key": key(),
                "input": {"partyReference": "A-1", "committedDeliveryDate": iso(w.now + timedelta(days=20))},
            },
        ),
        ("id",),
    ),
    "rejectPartyOrder": Op(
        REJECT, PARTNER_A, plus(_party_order, lambda w, f: {"key": key(), "reason": "cannot deliver"}), ("id",)
    ),
    "reportPartyOrderProgress": Op(
        REPORT, PARTNER_A, plus(_acknowledged_party_order, lambda w, f: {"key": key(), "input": {"percentComplete": 40}}), ("id",)
    ),
    "requestPartyOrderChange": Op(
        CHANGE,
        PARTNER_A,
        plus(
            _acknowledged_party_order,
            lambda w, f: {"key": key(), "input": {"nature": "REQUESTED", "kind": "OTHER", "reason": "different port"}},
        ),
        ("id",),
    ),
    "confirmPartyOrderCancellation": Op(
        CONFIRM, PARTNER_A, plus(_party_order_awaiting_cancellation, lambda w, f: {"key": key()}), ("id",)
    ),
    "reportPartyOrderCompletion": Op(COMPLETE, PARTNER_A, plus(_acknowledged_party_order, lambda w, f: {"key": key()}), ("id",)),
    "acknowledgePartyOrderRevision": Op(
        ACK_REVISION, PARTNER_A, plus(_revised_party_order, lambda w, f: {"key": key()}), ("id",)
    ),
    "rejectPartyOrderRevision": Op(
        REJECT_REVISION, PARTNER_A, plus(_revised_party_order, lambda w, f: {"key": key(), "reason": "no capacity"}), ("id",)
    ),
}


OPERATIONS.update(PARTY_OPERATIONS)

AMENDMENT_OPERATIONS: dict[str, Op] = {
    "amendCustomerOrder": Op(
        AMEND, STAFF, plus(_order, lambda w, f: {"version": 1, "input": {"add": [{"item": {"productRef": "EXTRA"}}]}}), ("id",)
    ),
    "amendmentPreview": Op(
        PREVIEW, STAFF, plus(_order, lambda w, f: {"input": {"add": [{"item": {"productRef": "EXTRA"}}]}}), ("id",)
    ),
}
OPERATIONS.update(AMENDMENT_OPERATIONS)


async def _order_with_history(w: World) -> dict[str, Any]:
    """An order with events to replay (after the first cursor), and its first event cursor."""
    found = await _order(w)
    return {**found, "after": event_cursor(0)}


async def _replay_all(w: World) -> dict[str, Any]:
    await _order(w)
    return {"after": event_cursor(0)}


async def _party_order_with_history(w: World) -> dict[str, Any]:
    found = await _party_order(w)
    return {"after": event_cursor(0), "_secret": found["id"]}


async def _escalation(w: World) -> dict[str, Any]:
    return await _order(w)


async def _escalated_order_with_history(w: World) -> dict[str, Any]:
    found = await _order(w)
    await w.staff.ok('mutation($id: ID!) { escalateCustomerOrder(id: $id, level: 1, reason: "late") { id } }', found)
    return {"after": event_cursor(0)}


JEOPARDY_OPERATIONS: dict[str, Op] = {
    "escalationPolicy": Op("{ escalationPolicy { atRiskSlack } }", READERS, _nothing),
    "escalationDryRun": Op("{ escalationDryRun { __typename } }", READERS, _order),
    "activityDurationStats": Op('{ activityDurationStats(kind: "install") { samples meanFactor } }', STAFF, _activity),
    "escalateCustomerOrder": Op(
        'mutation($id: ID!) { escalateCustomerOrder(id: $id, level: 1, reason: "customer called twice") { escalationLevel } }',
        STAFF,
        _escalation,
        ("id",),
    ),
    "escalatePartyOrder": Op(
        'mutation($id: ID!) { escalatePartyOrder(id: $id, level: 1, reason: "supplier silent") { escalationLevel } }',
        STAFF,
        _party_order,
        ("id",),
    ),
}
OPERATIONS.update(JEOPARDY_OPERATIONS)


async def _spare_token(w: World) -> dict[str, Any]:
    """A viewer token nobody uses, issued by staff, to be revoked."""
    made = await w.staff.ok('mutation { createApiToken(input: {name: "spare", role: VIEWER}) { token { id } } }')
    return {"id": made["createApiToken"]["token"]["id"]}


ACCESS_OPERATIONS: dict[str, Op] = {
    "apiTokens": Op("{ apiTokens { id name role partyId createdAt lastUsedAt expiresAt revokedAt } }", STAFF, _nothing),
    "createApiToken": Op(
        'mutation { createApiToken(input: {name: "dash-2", role: VIEWER, expiresIn: "30d"}) { secret token { id } } }',
        STAFF,
        _nothing,
    ),
    "revokeToken": Op("mutation($id: ID!) { revokeToken(id: $id) { revokedAt } }", STAFF, _spare_token, ("id",)),
}
OPERATIONS.update(ACCESS_OPERATIONS)

HOOK_URL = "http://127.0.0.1:9/hook"  # never called: the matrix's app does not deliver
CREATE_HOOK = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id } } }"


async def _partner_webhook(w: World) -> dict[str, Any]:
    """A webhook of partner A's (party A's events)."""
    made = await w.partner_a.ok(
        CREATE_HOOK, {"input": {"url": HOOK_URL, "eventTypes": ["partyOrderCreated"], "payloadFormat": "THIN"}}
    )
    hook_id = made["createWebhook"]["webhook"]["id"]
    return {"id": hook_id, "_secret": hook_id}


async def _staff_webhook(w: World) -> dict[str, Any]:
    made = await w.staff.ok(CREATE_HOOK, {"input": {"url": HOOK_URL, "eventTypes": ["orderCreated"], "payloadFormat": "TMF"}})
    return {"id": made["createWebhook"]["webhook"]["id"]}


async def _webhook_input(w: World) -> dict[str, Any]:
    return {"input": {"url": HOOK_URL, "eventTypes": ["partyOrderCreated"], "payloadFormat": "TMF"}}


WEBHOOK_OPERATIONS: dict[str, Op] = {
    "eventCatalogue": Op("{ eventCatalogue { type standardNames } }", EVERYONE_SIGNED_IN, _nothing),
    "webhooks": Op("{ webhooks { id url } }", STAFF | PARTNER_A, _partner_webhook, scoped=frozenset({"partner_b"})),
    "webhookDeliveries": Op(
        "query($id: ID!) { webhookDeliveries(webhookId: $id) { id } }", STAFF | PARTNER_A, _partner_webhook, ("id",)
    ),
    "createWebhook": Op(CREATE_HOOK, STAFF | PARTNER_A | {"partner_b"}, _webhook_input),
    "updateWebhook": Op(
        "mutation($id: ID!) { updateWebhook(id: $id, input: {paused: true}) { webhook { state } } }",
        STAFF | PARTNER_A,
        _partner_webhook,
        ("id",),
    ),
    # A staff webhook: partners get NOT_FOUND (a partner deleting its own is in tests/test_webhooks.py).
    "deleteWebhook": Op("mutation($id: ID!) { deleteWebhook(id: $id) }", STAFF, _staff_webhook, ("id",)),
}
OPERATIONS.update(WEBHOOK_OPERATIONS)

# Subscriptions: run through the schema directly (tests/test_authorization.py), replaying from the log.
EVENT = "{ sequence type orderId partyOrderId }"
SUBSCRIPTIONS: dict[str, Op] = {
    "orderEvents": Op(
        f"subscription($id: ID!, $after: String) {{ orderEvents(orderId: $id, after: $after) {EVENT} }}",
        READERS,
        _order_with_history,
        ("id",),
    ),
    "orderEventsMatching": Op(
        f"subscription($after: String) {{ orderEventsMatching(after: $after) {EVENT} }}", READERS, _replay_all
    ),
    "jeopardyAlerts": Op(
        f"subscription($after: String) {{ jeopardyAlerts(after: $after) {EVENT} }}", READERS, _escalated_order_with_history
    ),
    "partyOrderEvents": Op(
        f"subscription($after: String) {{ partyOrderEvents(after: $after) {EVENT} }}",
        READERS | PARTNER_A,
        _party_order_with_history,
        scoped=frozenset({"partner_b"}),
    ),
}

# Root fields tested elsewhere (with a reason), so the completeness check accepts them.
EXEMPT: dict[str, str] = {
    "retryWebhookDelivery": "needs a delivery the deliverer made; every role is tried in "
    "tests/test_webhooks.py::test_only_the_webhooks_owner_or_staff_may_retry_its_delivery",
}
