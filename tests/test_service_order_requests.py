"""Staff generate service order requests from internally fulfilled items and track them back to the item."""

from __future__ import annotations

from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import create_order, get_order
from tests.fingerprint import fingerprint
from tests.party import create_party

GENERATE = "mutation($id: ID!) { generateServiceOrderRequests(orderId: $id) { id itemId state } }"
UPDATE = """mutation($id: ID!, $state: ServiceOrderRequestState, $ref: String, $note: String) {
  updateServiceOrderRequest(id: $id, state: $state, externalRef: $ref, note: $note) { id state externalRef note }
}"""


async def test_one_request_per_internal_item_and_running_it_twice_creates_nothing_twice(staff: Api, clock: FrozenClock) -> None:
    party = await create_party(staff)
    order = await create_order(
        staff,
        clock.now(),
        items=[
            {"productRef": "FIBRE", "children": [{"productRef": "ROUTER"}]},
            {"productRef": "DARK-FIBRE", "fulfillment": "PARTY", "partyId": party["id"]},
        ],
    )
    first = (await staff.ok(GENERATE, {"id": order["id"]}))["generateServiceOrderRequests"]
    fibre = order["items"][0]
    assert sorted(r["itemId"] for r in first) == sorted([fibre["id"], fibre["children"][0]["id"]])
    assert {r["state"] for r in first} == {"ACKNOWLEDGED"}
    assert (await staff.ok(GENERATE, {"id": order["id"]}))["generateServiceOrderRequests"] == []
    tree = await get_order(staff, order["id"])
    assert tree["items"][0]["serviceOrderRequest"]["id"] in {r["id"] for r in first}
    assert tree["items"][1]["serviceOrderRequest"] is None


async def test_service_order_progress_completes_the_item_and_then_the_order(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), items=[{"productRef": "IP-TRANSIT"}])
    (request,) = (await staff.ok(GENERATE, {"id": order["id"]}))["generateServiceOrderRequests"]
    referenced = (await staff.ok(UPDATE, {"id": request["id"], "state": "IN_PROGRESS", "ref": "SO-778"}))[
        "updateServiceOrderRequest"
    ]
    assert (referenced["state"], referenced["externalRef"]) == ("IN_PROGRESS", "SO-778")
    assert (await get_order(staff, order["id"]))["items"][0]["state"] == "IN_PROGRESS"
    await staff.ok(UPDATE, {"id": request["id"], "state": "COMPLETED"})
    done = await get_order(staff, order["id"])
    assert done["items"][0]["state"] == "COMPLETED"
    assert done["state"] == "COMPLETED"


async def test_bad_service_order_updates_change_nothing(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), items=[{"productRef": "IP-TRANSIT"}])
    (request,) = (await staff.ok(GENERATE, {"id": order["id"]}))["generateServiceOrderRequests"]
    await staff.ok(UPDATE, {"id": request["id"], "ref": "SO-1"})
    before = await fingerprint(db)
    assert await staff.code(UPDATE, {"id": request["id"], "state": "COMPLETED"}) == "INVALID_TRANSITION"
    assert await staff.code(UPDATE, {"id": request["id"], "ref": "SO-2"}) == "CONFLICT"
    assert await staff.code(UPDATE, {"id": request["id"]}) == "INVALID_INPUT"
    assert await staff.code(UPDATE, {"id": "31337", "state": "IN_PROGRESS"}) == "NOT_FOUND"
    assert await staff.code(GENERATE, {"id": "31337"}) == "NOT_FOUND"
    assert await fingerprint(db) == before
