"""Party orders in jeopardy are escalated by the local policy like customer orders, and by hand."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.clock import FrozenClock
from app.db import Database
from app.jeopardy.policy import Policy
from tests.api import Api
from tests.factories import iso
from tests.jeopardy_support import alerts, monitor, policy
from tests.party import REPORT, acknowledge, create_party, key, order_with_party_items, partner_api, requisition

SUPPLIER_DESK = policy(
    levels={1: "supplier desk", 2: "procurement manager"},
    rules=[
        {
            "name": "party-slipping",
            "applies_to": "partyOrder",
            "level": "jeopardy",
            "after": "4h",
            "escalate_to": 1,
            "notify": ["supplier-desk@example.test"],
        },
        {
            "name": "fibreco-late",
            "applies_to": "partyOrder",
            "parties": ["FibreCo"],
            "level": "late",
            "escalate_to": 2,
            "notify": ["procurement@example.test"],
        },
    ],
)
HISTORY = """query($id: ID!) { partyOrder(id: $id) { jeopardyLevel escalationLevel version
  escalations { orderId partyOrderId fromLevel toLevel direction rule notify manual actor } } }"""
ORDER = "query($id: ID!) { customerOrder(id: $id) { escalationLevel escalations { partyOrderId toLevel rule } } }"
DRY_RUN = "{ escalationDryRun { escalations { orderId partyOrderId direction toLevel rule notify } } }"
ESCALATE = """mutation($id: ID!, $level: Int!, $reason: String!, $notify: [String!], $version: Int) {
  escalatePartyOrder(id: $id, level: $level, reason: $reason, notify: $notify, version: $version) {
    escalationLevel escalations { toLevel manual actor notify } } }"""


@pytest.fixture
def escalation_policy() -> Policy:
    """The app of these tests escalates as the supplier desk does."""
    return SUPPLIER_DESK


async def slipping_party_order(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock, name: str
) -> tuple[dict, dict, Api]:
    party = await create_party(staff, hours=24 * 30, name=name)
    order = await order_with_party_items(staff, clock.now(), party["id"], days=30)
    (po,) = await requisition(staff, order["id"], neededBy=iso(clock.now() + timedelta(days=20)))
    partner = await partner_api(http, db, clock, party["id"])
    await acknowledge(partner, po["id"], clock.now(), days=15)
    later = iso(clock.now() + timedelta(days=25))  # after the needed-by date: jeopardy at once
    await partner.ok(REPORT, {"id": po["id"], "key": key(), "input": {"expectedDeliveryDate": later}})
    return order, po, partner


async def test_a_party_order_lingering_in_jeopardy_is_escalated_and_lowered_when_the_party_recovers(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    order, po, partner = await slipping_party_order(staff, http, db, clock, "Ducts Ltd")
    mon = monitor(db, clock, SUPPLIER_DESK)
    await mon.sweep()
    assert (await staff.ok(HISTORY, {"id": po["id"]}))["partyOrder"]["escalationLevel"] == 0, "not yet four hours"
    clock.advance(timedelta(hours=4, minutes=1))
    planned = (await staff.ok(DRY_RUN))["escalationDryRun"]["escalations"]
    assert planned == [
        {
            "orderId": order["id"],
            "partyOrderId": po["id"],
            "direction": "ESCALATE",
            "toLevel": 1,
            "rule": "party-slipping",
            "notify": ["supplier-desk@example.test"],
        }
    ]
    await mon.sweep()
    got = (await staff.ok(HISTORY, {"id": po["id"]}))["partyOrder"]
    assert got["escalationLevel"] == 1
    assert got["escalations"] == [
        {
            "orderId": order["id"],
            "partyOrderId": po["id"],
            "fromLevel": 0,
            "toLevel": 1,
            "direction": "ESCALATE",
            "rule": "party-slipping",
            "notify": ["supplier-desk@example.test"],
            "manual": False,
            "actor": "jeopardy-monitor",
        }
    ]
    customer = (await staff.ok(ORDER, {"id": order["id"]}))["customerOrder"]
    assert customer["escalationLevel"] == 0, "the customer order itself is not escalated"
    assert customer["escalations"] == [{"partyOrderId": po["id"], "toLevel": 1, "rule": "party-slipping"}], (
        "but its history shows it"
    )
    (escalated,) = [e for e in await alerts(db, order["id"]) if e.type == "escalated"]
    assert (escalated.entity, escalated.party_order_id, escalated.party_id) == ("partyOrder", int(po["id"]), None), (
        "no party id: the escalation stays out of the partner's own stream"
    )
    await mon.sweep()
    assert len([e for e in await alerts(db, order["id"]) if e.type == "escalated"]) == 1, (
        "a repeated sweep escalates nothing again"
    )
    sooner = iso(clock.now() + timedelta(days=18))
    await partner.ok(REPORT, {"id": po["id"], "key": key(), "input": {"expectedDeliveryDate": sooner}})
    got = (await staff.ok(HISTORY, {"id": po["id"]}))["partyOrder"]
    assert (got["jeopardyLevel"], got["escalationLevel"]) == ("NONE", 0), "recovery lowers it in the party's own report"
    assert [(e["fromLevel"], e["toLevel"], e["direction"]) for e in got["escalations"]] == [
        (0, 1, "ESCALATE"),
        (1, 0, "DEESCALATE"),
    ]


async def test_a_party_order_rule_applies_only_to_the_parties_it_names(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    _, fibreco, _ = await slipping_party_order(staff, http, db, clock, "FibreCo")
    _, other, _ = await slipping_party_order(staff, http, db, clock, "Other Networks")
    mon = monitor(db, clock, SUPPLIER_DESK)
    clock.advance(timedelta(days=20, minutes=1))  # both past their needed-by date: late
    await mon.sweep()
    assert (await staff.ok(HISTORY, {"id": fibreco["id"]}))["partyOrder"]["escalationLevel"] == 2
    assert (await staff.ok(HISTORY, {"id": other["id"]}))["partyOrder"]["escalationLevel"] == 0, "just became late"
    clock.advance(timedelta(hours=4, minutes=1))
    await mon.sweep()
    assert (await staff.ok(HISTORY, {"id": other["id"]}))["partyOrder"]["escalationLevel"] == 1, "only the general rule, 4h on"


async def test_staff_escalate_a_party_order_by_hand_and_bad_requests_change_nothing(
    staff: Api, viewer: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    _, po, partner = await slipping_party_order(staff, http, db, clock, "Ducts Ltd")
    version = (await staff.ok(HISTORY, {"id": po["id"]}))["partyOrder"]["version"]
    request = {
        "id": po["id"],
        "level": 2,
        "reason": "supplier silent on the phone",
        "notify": ["buyer@example.test"],
        "version": version,
    }
    assert await viewer.code(ESCALATE, request) == "FORBIDDEN"
    assert await partner.code(ESCALATE, request) == "FORBIDDEN"
    assert await staff.code(ESCALATE, {**request, "id": "999999"}) == "NOT_FOUND"
    assert await staff.code(ESCALATE, {**request, "level": 99}) == "INVALID_INPUT"
    assert await staff.code(ESCALATE, {**request, "reason": "  "}) == "INVALID_INPUT"
    assert await staff.code(ESCALATE, {**request, "version": version - 1}) == "CONFLICT"
    assert (await staff.ok(HISTORY, {"id": po["id"]}))["partyOrder"]["escalations"] == [], "refusals changed nothing"
    done = (await staff.ok(ESCALATE, request))["escalatePartyOrder"]
    assert done == {
        "escalationLevel": 2,
        "escalations": [{"toLevel": 2, "manual": True, "actor": "sam.staff", "notify": ["buyer@example.test"]}],
    }
    assert await staff.code(ESCALATE, {**request, "version": None}) == "INVALID_INPUT", "already at that level"
    assert (
        await partner.code("query($id: ID!) { partyOrder(id: $id) { escalations { toLevel } } }", {"id": po["id"]}) == "FORBIDDEN"
    )
