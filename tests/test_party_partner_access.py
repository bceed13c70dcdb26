"""A partner sees and changes only its own party orders; anything else is NOT_FOUND and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import GET, iso
from tests.party import (
    ACK,
    CANCEL_PO,
    CHANGE,
    COMPLETE,
    CONFIRM,
    CREATE_PARTY,
    GET_PO,
    GET_PO_STAFF,
    REJECT,
    REPORT,
    REQUEST,
    RESOLVE,
    acknowledge,
    create_party,
    order_with_party_items,
    partner_api,
    requisition,
    snapshot_tables,
)

FUTURE = timedelta(days=15)


def partner_operations(po_id: str, when: str) -> list[tuple[str, str, dict[str, object]]]:
    return [
        ("acknowledge", ACK, {"id": po_id, "key": "x1", "input": {"partyReference": "B-1", "committedDeliveryDate": when}}),
        ("reject", REJECT, {"id": po_id, "key": "x2", "reason": "not ours"}),
        ("report", REPORT, {"id": po_id, "key": "x3", "input": {"percentComplete": 99}}),
        ("change", CHANGE, {"id": po_id, "key": "x4", "input": {"nature": "FORCED", "kind": "OTHER", "reason": "meddling"}}),
        ("confirm", CONFIRM, {"id": po_id, "key": "x5"}),
        ("complete", COMPLETE, {"id": po_id, "key": "x6"}),
    ]


@pytest.mark.parametrize("a_state", ["pending", "acknowledged", "pendingCancellation"])
async def test_partner_b_cannot_touch_partner_a_orders(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock, a_state: str
) -> None:
    now = clock.now()
    a, b = await create_party(staff), await create_party(staff)
    partner_a, partner_b = await partner_api(http, db, clock, a["id"]), await partner_api(http, db, clock, b["id"])
    order = await order_with_party_items(staff, now, a["id"], b["id"])
    po_a, po_b = await requisition(staff, order["id"])
    if a_state != "pending":
        await acknowledge(partner_a, po_a["id"], now)
    if a_state == "pendingCancellation":
        await staff.ok(CANCEL_PO, {"id": po_a["id"], "reason": "not needed"})
    before = await snapshot_tables(db)
    for name, query, variables in partner_operations(po_a["id"], iso(now + FUTURE)):
        error = await partner_b.error(query, variables)
        assert error["extensions"]["code"] == "NOT_FOUND", (name, error)
        assert po_a["id"] in error["message"]
    assert await snapshot_tables(db) == before
    # Reading: A's order does not exist for B, and B's own listing holds only its own.
    assert (await partner_b.ok(GET_PO, {"id": po_a["id"]}))["partyOrder"] is None
    listing = await partner_b.ok("query($p: ID) { partyOrders(filter: {partyId: $p}) { edges { node { id } } } }", {"p": a["id"]})
    assert listing["partyOrders"]["edges"] == []
    own = await partner_b.ok("{ partyOrders { edges { node { id } } } }")
    assert [e["node"]["id"] for e in own["partyOrders"]["edges"]] == [po_b["id"]]
    assert (await partner_a.ok(GET_PO, {"id": po_a["id"]}))["partyOrder"]["id"] == po_a["id"]


async def test_an_unknown_id_looks_the_same_as_another_partys(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    for name, query, variables in partner_operations("987654", iso(clock.now() + FUTURE)):
        error = await partner.error(query, variables)
        assert error["extensions"] == {"code": "NOT_FOUND", "kind": "Party order", "id": "987654"}, name


async def test_a_partner_sees_what_it_needs_but_not_the_customer_order(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await order_with_party_items(staff, clock.now(), party["id"])
    (po,) = await requisition(staff, order["id"])
    seen = (await partner.ok(GET_PO, {"id": po["id"]}))["partyOrder"]
    assert seen["neededBy"] == order["committedDate"]
    assert seen["lines"] == [{"itemId": order["items"][0]["id"], "productRef": "DARK-FIBRE-1", "action": "ADD", "quantity": 2}]
    assert await partner.code(GET, {"id": order["id"]}) == "FORBIDDEN"
    assert await partner.code("query($id: ID!) { partyOrder(id: $id) { customerOrder { id } } }", {"id": po["id"]}) == "FORBIDDEN"
    assert await partner.code(GET_PO_STAFF, {"id": po["id"]}) == "FORBIDDEN"  # enterprise check-ins stay inside
    assert await partner.code("{ customerOrders { edges { node { id } } } }") == "FORBIDDEN"
    staff_view = await staff.ok("query($id: ID!) { partyOrder(id: $id) { customerOrder { id } } }", {"id": po["id"]})
    assert staff_view["partyOrder"]["customerOrder"]["id"] == order["id"]


async def test_partners_cannot_do_staff_work_and_staff_cannot_act_for_a_party(
    staff: Api, viewer: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await order_with_party_items(staff, clock.now(), party["id"])
    (po,) = await requisition(staff, order["id"])
    before = await snapshot_tables(db)
    assert await partner.code(REQUEST, {"input": {"orderId": order["id"]}}) == "FORBIDDEN"
    assert await partner.code(CANCEL_PO, {"id": po["id"], "reason": "x"}) == "FORBIDDEN"
    assert await partner.code(RESOLVE, {"id": "1", "decision": "ACCEPT"}) == "FORBIDDEN"
    assert (
        await partner.code(CREATE_PARTY, {"input": {"name": "Mine", "kind": "PARTNER", "reportingIntervalHours": 1}})
        == "FORBIDDEN"
    )
    assert await viewer.code(CANCEL_PO, {"id": po["id"], "reason": "x"}) == "FORBIDDEN"
    for _, query, variables in partner_operations(po["id"], iso(clock.now() + FUTURE)):
        assert await staff.code(query, variables) == "FORBIDDEN"
        assert await viewer.code(query, variables) == "FORBIDDEN"
    assert await snapshot_tables(db) == before
