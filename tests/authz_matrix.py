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

from tests.api import Api
from tests.factories import create_order, order_input, schedule

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

Prepare = Callable[[Api, datetime], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Op:
    document: str
    allowed: frozenset[str]
    prepare: Prepare
    id_variables: tuple[str, ...] = ()  # variables holding ids: swapped for MISSING_ID in the existence check


async def _nothing(staff: Api, now: datetime) -> dict[str, Any]:
    return {}


async def _order(staff: Api, now: datetime) -> dict[str, Any]:
    return {"id": (await create_order(staff, now))["id"]}


async def _order_in_progress(staff: Api, now: datetime) -> dict[str, Any]:
    order = await create_order(staff, now)
    await staff.ok('mutation($id: ID!) { changeOrderState(id: $id, state: IN_PROGRESS) { id } }', {"id": order["id"]})
    return {"id": order["id"]}


async def _activity(staff: Api, now: datetime) -> dict[str, Any]:
    order = await create_order(staff, now)
    return {"id": (await schedule(staff, order["id"], now))["id"], "end": (now + timedelta(days=5)).isoformat()}


async def _service_order_request(staff: Api, now: datetime) -> dict[str, Any]:
    order = await create_order(staff, now)
    made = await staff.ok("mutation($id: ID!) { generateServiceOrderRequests(orderId: $id) { id } }", {"id": order["id"]})
    return {"id": made["generateServiceOrderRequests"][0]["id"]}


async def _new_order_input(staff: Api, now: datetime) -> dict[str, Any]:
    return {"input": order_input(now)}


async def _schedule_input(staff: Api, now: datetime) -> dict[str, Any]:
    order = await create_order(staff, now)
    window = {"kind": "install", "plannedStart": (now + timedelta(days=1)).isoformat(), "plannedEnd": (now + timedelta(days=2)).isoformat()}
    return {"id": order["id"], "input": window}


OPERATIONS: dict[str, Op] = {
    # Queries
    "me": Op("{ me { name role } }", EVERYONE_SIGNED_IN, _nothing),
    "customerOrder": Op("query($id: ID!) { customerOrder(id: $id) { id state } }", READERS, _order, ("id",)),
    "customerOrders": Op("{ customerOrders(first: 10) { edges { node { id } } totalCount } }", READERS, _order),
    "orderTimeline": Op("query($id: ID!) { orderTimeline(orderId: $id, first: 10) { edges { cursor } } }", READERS, _order, ("id",)),
    # Customer order mutations: staff only
    "createCustomerOrder": Op("mutation($input: CreateCustomerOrderInput!) { createCustomerOrder(input: $input) { id } }", STAFF, _new_order_input),
    "updateCustomerOrder": Op(
        "mutation($id: ID!) { updateCustomerOrder(id: $id, version: 1, input: {priority: HIGH}) { version } }", STAFF, _order, ("id",)
    ),
    "addOrderNote": Op('mutation($id: ID!) { addOrderNote(orderId: $id, text: "call the customer") { id } }', STAFF, _order, ("id",)),
    "changeOrderState": Op("mutation($id: ID!) { changeOrderState(id: $id, state: IN_PROGRESS) { state } }", STAFF, _order, ("id",)),
    "cancelCustomerOrder": Op('mutation($id: ID!) { cancelCustomerOrder(id: $id, reason: "sales request cancelled") { state } }', STAFF, _order, ("id",)),
    "completeCustomerOrder": Op(
        'mutation($id: ID!) { completeCustomerOrder(id: $id, force: true, reason: "done on site") { state } }', STAFF, _order_in_progress, ("id",)
    ),
    "scheduleActivity": Op(
        "mutation($id: ID!, $input: ScheduleActivityInput!) { scheduleActivity(orderId: $id, input: $input) { id } }", STAFF, _schedule_input, ("id",)
    ),
    "rescheduleActivity": Op(
        "mutation($id: ID!, $end: DateTime!) { rescheduleActivity(id: $id, plannedEnd: $end) { version } }", STAFF, _activity, ("id",)
    ),
    "assignActivity": Op('mutation($id: ID!) { assignActivity(id: $id, workGroup: "field", assignee: "ann") { id } }', STAFF, _activity, ("id",)),
    "recordActivityProgress": Op(
        "mutation($id: ID!) { recordActivityProgress(id: $id, input: {state: IN_PROGRESS}) { state } }", STAFF, _activity, ("id",)
    ),
    "generateServiceOrderRequests": Op("mutation($id: ID!) { generateServiceOrderRequests(orderId: $id) { id } }", STAFF, _order, ("id",)),
    "updateServiceOrderRequest": Op(
        'mutation($id: ID!) { updateServiceOrderRequest(id: $id, externalRef: "SO-1") { id } }', STAFF, _service_order_request, ("id",)
    ),
}

# Root fields tested elsewhere (with a reason), so the completeness check accepts them.
EXEMPT: dict[str, str] = {}
