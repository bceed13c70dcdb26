"""Builders for party order tests: parties, partner clients, orders with party items, and the operations."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import httpx

from app.auth import Role
from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import create_order, iso

_names = itertools.count(1)
_keys = itertools.count(1)

PO_FIELDS = """
  id partyId state stateReason neededBy partyReference committedDeliveryDate expectedDeliveryDate
  percentComplete note acknowledgedAt deliveredAt lastReportAt nextReportDue jeopardyLevel escalationLevel version
  lines { itemId productRef action quantity }
  milestones { id name plannedDate reachedAt }
  progressReports { id percentComplete note expectedDeliveryDate milestoneId reportedBy }
  changeRequests { id nature kind proposedDeliveryDate reason state resolutionNote resolvedBy resolvedAt }
"""

CREATE_PARTY = "mutation($input: CreatePartyInput!) { createParty(input: $input) { id name kind reportingIntervalHours } }"
REQUEST = f"mutation($input: RequestPartyOrdersInput!) {{ requestPartyOrders(input: $input) {{ {PO_FIELDS} }} }}"
GET_PO = f"query($id: ID!) {{ partyOrder(id: $id) {{ {PO_FIELDS} }} }}"
GET_PO_STAFF = (
    f"query($id: ID!) {{ partyOrder(id: $id) {{ {PO_FIELDS} checkIns {{ id at withWhom outcome newExpectedDeliveryDate }} }} }}"
)

ACK = f"""mutation($id: ID!, $key: String!, $input: AcknowledgePartyOrderInput!) {{
  acknowledgePartyOrder(id: $id, idempotencyKey: $key, input: $input) {{ {PO_FIELDS} }} }}"""
REJECT = f"""mutation($id: ID!, $key: String!, $reason: String!) {{
  rejectPartyOrder(id: $id, idempotencyKey: $key, reason: $reason) {{ {PO_FIELDS} }} }}"""
REPORT = f"""mutation($id: ID!, $key: String!, $input: ProgressReportInput!) {{
  reportPartyOrderProgress(id: $id, idempotencyKey: $key, input: $input) {{ {PO_FIELDS} }} }}"""
CHANGE = """mutation($id: ID!, $key: String!, $input: ChangeRequestInput!) {
  requestPartyOrderChange(id: $id, idempotencyKey: $key, input: $input) {
    id partyOrderId nature kind proposedDeliveryDate reason state resolutionNote } }"""
CONFIRM = f"""mutation($id: ID!, $key: String!, $note: String) {{
  confirmPartyOrderCancellation(id: $id, idempotencyKey: $key, note: $note) {{ {PO_FIELDS} }} }}"""
COMPLETE = f"""mutation($id: ID!, $key: String!, $deliveredAt: DateTime, $note: String) {{
  reportPartyOrderCompletion(id: $id, idempotencyKey: $key, deliveredAt: $deliveredAt, note: $note) {{ {PO_FIELDS} }} }}"""

RESOLVE = """mutation($id: ID!, $decision: ChangeDecision!, $note: String) {
  resolvePartyChangeRequest(id: $id, decision: $decision, note: $note) { id state resolutionNote resolvedBy resolvedAt } }"""
CANCEL_PO = f"mutation($id: ID!, $reason: String!, $version: Int) {{ cancelPartyOrder(id: $id, reason: $reason, version: $version) {{ {PO_FIELDS} }} }}"
CANCEL_ORDER = "mutation($id: ID!, $reason: String!) { cancelCustomerOrder(id: $id, reason: $reason) { id state version } }"
UPDATE_PO = f"mutation($id: ID!, $version: Int!, $input: UpdatePartyOrderInput!) {{ updatePartyOrder(id: $id, version: $version, input: $input) {{ {PO_FIELDS} }} }}"
STATE_PO = f"mutation($id: ID!, $state: PartyOrderState!, $reason: String, $version: Int) {{ changePartyOrderState(id: $id, state: $state, reason: $reason, version: $version) {{ {PO_FIELDS} }} }}"
CHECK_IN = """mutation($id: ID!, $input: CheckInInput!) {
  recordPartyCheckIn(partyOrderId: $id, input: $input) { id at withWhom outcome newExpectedDeliveryDate recordedBy } }"""
MILESTONE = "mutation($id: ID!, $input: MilestoneInput!) { planPartyMilestone(partyOrderId: $id, input: $input) { id name plannedDate reachedAt } }"
ORDER_TREE = """query($id: ID!) { customerOrder(id: $id) {
  id state stateReason version expectedCompletion completedAt
  items { id state fulfillment partyId partyOrders { id state } children { id partyOrders { id } } }
  partyOrders { id state }
} }"""


def key() -> str:
    return f"key-{next(_keys)}"


async def create_party(staff: Api, kind: str = "SUPPLIER", hours: int = 48, name: str | None = None) -> dict[str, Any]:
    name = name or f"Party {next(_names)}"
    return (await staff.ok(CREATE_PARTY, {"input": {"name": name, "kind": kind, "reportingIntervalHours": hours}}))["createParty"]


async def partner_api(http: httpx.AsyncClient, db: Database, clock: FrozenClock, party_id: str) -> Api:
    return Api(http, await issue_token(db, clock, Role.PARTNER, f"partner-{party_id}", party_id=int(party_id)))


async def order_with_party_items(staff: Api, now: datetime, *party_ids: str, days: int = 30) -> dict[str, Any]:
    """A customer order with one party-fulfilled item per party given (plus an internal one when asked)."""
    items = [
        {"productRef": f"DARK-FIBRE-{n}", "fulfillment": "PARTY", "partyId": pid, "quantity": 2}
        for n, pid in enumerate(party_ids, 1)
    ]
    return await create_order(staff, now, items=items, committedDate=iso(now + timedelta(days=days)))


async def requisition(staff: Api, order_id: str, **extra: Any) -> list[dict[str, Any]]:
    return (await staff.ok(REQUEST, {"input": {"orderId": order_id, **extra}}))["requestPartyOrders"]


async def acknowledge(
    partner: Api, po_id: str, now: datetime, days: int = 20, ref: str = "SUP-1", **extra: Any
) -> dict[str, Any]:
    data = {"partyReference": ref, "committedDeliveryDate": iso(now + timedelta(days=days)), **extra}
    return (await partner.ok(ACK, {"id": po_id, "key": key(), "input": data}))["acknowledgePartyOrder"]


async def party_orders_in_each_stage(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> tuple[list[tuple[int, int]], dict[str, Api], int]:
    """Two parties; the first's party orders reported on, acknowledged only and not acknowledged, the
    second's reported on; a milestone planned on the first. Returns (party order, party) id pairs,
    each partner's API by party id, and the milestone's id."""
    first, second = await create_party(staff), await create_party(staff, hours=24)
    apis = {p["id"]: await partner_api(http, db, clock, p["id"]) for p in (first, second)}
    found = []
    for party, stage in [(first, "reported"), (first, "acknowledged"), (first, "requested"), (second, "reported")]:
        order = await order_with_party_items(staff, clock.now(), party["id"])
        (po,) = await requisition(staff, order["id"])
        if stage != "requested":
            await acknowledge(apis[party["id"]], po["id"], clock.now())
        if stage == "reported":
            await apis[party["id"]].ok(REPORT, {"id": po["id"], "key": f"set-up-{po['id']}", "input": {"percentComplete": 5}})
        found.append((int(po["id"]), int(party["id"])))
    planned = await staff.ok(
        MILESTONE, {"id": str(found[0][0]), "input": {"name": "cabinet", "plannedDate": iso(clock.now() + timedelta(days=5))}}
    )
    return found, apis, int(planned["planPartyMilestone"]["id"])


async def get_po(api: Api, po_id: str, query: str = GET_PO) -> dict[str, Any] | None:
    return (await api.ok(query, {"id": po_id}))["partyOrder"]


async def visible_po(api: Api, po_id: str, query: str = GET_PO) -> dict[str, Any]:
    """The party order as ``api``'s principal reads it, which must see it."""
    seen = await get_po(api, po_id, query)
    assert seen is not None, f"party order {po_id} is not visible"
    return seen


async def snapshot_tables(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the order and party order tables plus the event count: 'nothing changed' checks."""
    from sqlalchemy import text

    tables = [
        "customer_order",
        "order_item",
        "party",
        "party_order",
        "party_order_item",
        "party_milestone",
        "party_progress_report",
        "party_check_in",
        "party_change_request",
        "party_request_key",
        "event",
    ]
    out = {}
    async with db.read() as session:
        for t in tables:
            rows = (await session.execute(text(f"SELECT * FROM {t}"))).all()
            out[t] = sorted((tuple(r) for r in rows), key=repr)
    return out
