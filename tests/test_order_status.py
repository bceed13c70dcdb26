"""Staff change an order's status through the state machine; cancelling and completing take the work along."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import FrozenClock
from app.db import Database
from app.orders.states import ORDER
from tests.api import Api
from tests.factories import create_order, get_order, progress, schedule
from tests.fingerprint import fingerprint

CHANGE = """mutation($id: ID!, $state: OrderState!, $reason: String, $version: Int) {
  changeOrderState(id: $id, state: $state, reason: $reason, version: $version) { id state stateReason version }
}"""
CANCEL = """mutation($id: ID!, $reason: String!) {
  cancelCustomerOrder(id: $id, reason: $reason) { id state stateReason
    activities { state } serviceOrderRequests { state } items { state children { state } } }
}"""
COMPLETE = """mutation($id: ID!, $force: Boolean!, $reason: String) {
  completeCustomerOrder(id: $id, force: $force, reason: $reason) { id state completedAt activities { state } items { state } }
}"""
GENERATE = "mutation($id: ID!) { generateServiceOrderRequests(orderId: $id) { id itemId state } }"


def test_the_state_machine_is_data_with_tmf622_states() -> None:
    assert ORDER.states == {
        "acknowledged",
        "inProgress",
        "pending",
        "held",
        "assessingCancellation",
        "pendingCancellation",
        "cancelled",
        "completed",
        "failed",
        "partial",
        "rejected",
    }
    assert ORDER.terminal == {"cancelled", "completed", "failed", "partial", "rejected"}


async def test_staff_move_an_order_through_allowed_states(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    held = (await staff.ok(CHANGE, {"id": order["id"], "state": "HELD", "reason": "site access"}))["changeOrderState"]
    assert (held["state"], held["stateReason"], held["version"]) == ("HELD", "site access", 2)
    resumed = (await staff.ok(CHANGE, {"id": order["id"], "state": "IN_PROGRESS", "version": 2}))["changeOrderState"]
    assert resumed["state"] == "IN_PROGRESS"


async def test_an_illegal_transition_says_the_current_state_and_what_is_allowed(
    staff: Api, db: Database, clock: FrozenClock
) -> None:
    order = await create_order(staff, clock.now())
    await staff.ok(CHANGE, {"id": order["id"], "state": "REJECTED", "reason": "credit check failed"})
    before = await fingerprint(db)
    error = await staff.error(CHANGE, {"id": order["id"], "state": "IN_PROGRESS"})
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert error["extensions"]["current"] == "rejected"
    assert error["extensions"]["allowed"] == []
    assert "'rejected'" in error["message"] and "final" in error["message"]
    assert await fingerprint(db) == before


async def test_holding_an_order_needs_a_reason(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    before = await fingerprint(db)
    assert await staff.code(CHANGE, {"id": order["id"], "state": "HELD"}) == "INVALID_INPUT"
    assert await staff.code(CHANGE, {"id": order["id"], "state": "HELD", "reason": "x", "version": 7}) == "CONFLICT"
    assert await staff.code(CHANGE, {"id": "77777", "state": "HELD", "reason": "x"}) == "NOT_FOUND"
    assert await fingerprint(db) == before


@pytest.mark.parametrize("state", ["CANCELLED", "COMPLETED", "PENDING_CANCELLATION"])
async def test_cancel_and_complete_go_through_their_own_operations(staff: Api, clock: FrozenClock, state: str) -> None:
    order = await create_order(staff, clock.now())
    assert await staff.code(CHANGE, {"id": order["id"], "state": state, "reason": "x"}) == "INVALID_INPUT"


async def test_cancelling_an_order_when_its_sales_request_is_cancelled_cancels_its_open_work(
    staff: Api, clock: FrozenClock
) -> None:
    order = await create_order(staff, clock.now())
    survey = await schedule(staff, order["id"], clock.now(), kind="survey")
    await schedule(staff, order["id"], clock.now(), days=(3, 6), predecessorIds=[survey["id"]])
    await staff.ok(GENERATE, {"id": order["id"]})
    await progress(staff, survey["id"], "IN_PROGRESS")
    cancelled = (await staff.ok(CANCEL, {"id": order["id"], "reason": "sales request SR withdrawn"}))["cancelCustomerOrder"]
    assert cancelled["state"] == "CANCELLED"
    assert cancelled["stateReason"] == "sales request SR withdrawn"
    assert {a["state"] for a in cancelled["activities"]} == {"CANCELLED"}
    assert {r["state"] for r in cancelled["serviceOrderRequests"]} == {"CANCELLED"}
    assert {i["state"] for i in cancelled["items"]} == {"CANCELLED"}
    assert cancelled["items"][0]["children"][0]["state"] == "CANCELLED"
    assert await staff.code(CANCEL, {"id": order["id"], "reason": "again"}) == "INVALID_TRANSITION"


async def test_cancelling_needs_a_reason(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    before = await fingerprint(db)
    assert await staff.code(CANCEL, {"id": order["id"], "reason": "  "}) == "INVALID_INPUT"
    assert await fingerprint(db) == before


async def test_completing_with_open_work_is_refused_unless_forced_with_a_reason(
    staff: Api, db: Database, clock: FrozenClock
) -> None:
    order = await create_order(staff, clock.now())
    activity = await schedule(staff, order["id"], clock.now())
    before = await fingerprint(db)
    error = await staff.error(COMPLETE, {"id": order["id"], "force": False})
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert error["extensions"]["open_work"] == [f"activity:{activity['id']}"]
    assert await staff.code(COMPLETE, {"id": order["id"], "force": True}) == "INVALID_INPUT"
    assert await fingerprint(db) == before
    done = (await staff.ok(COMPLETE, {"id": order["id"], "force": True, "reason": "customer accepted as is"}))[
        "completeCustomerOrder"
    ]
    assert done["state"] == "COMPLETED"
    assert done["completedAt"] is not None
    assert [a["state"] for a in done["activities"]] == ["CANCELLED"]
    assert {i["state"] for i in done["items"]} == {"COMPLETED"}


async def test_the_order_completes_itself_when_all_its_work_completes(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), items=[{"productRef": "FIBRE"}, {"productRef": "ROUTER"}])
    fibre, router = (i["id"] for i in order["items"])
    dig = await schedule(staff, order["id"], clock.now(), itemId=fibre, kind="dig")
    ship = await schedule(staff, order["id"], clock.now(), itemId=router, kind="ship")
    await progress(staff, dig["id"], "IN_PROGRESS")
    assert (await get_order(staff, order["id"]))["state"] == "IN_PROGRESS"
    await progress(staff, dig["id"], "COMPLETED")
    half = await get_order(staff, order["id"])
    assert [i["state"] for i in half["items"]] == ["COMPLETED", "ACKNOWLEDGED"]
    assert half["state"] == "IN_PROGRESS"
    await progress(staff, ship["id"], "IN_PROGRESS")
    await progress(staff, ship["id"], "COMPLETED")
    done = await get_order(staff, order["id"])
    assert [i["state"] for i in done["items"]] == ["COMPLETED", "COMPLETED"]
    assert done["state"] == "COMPLETED"
    assert done["completedAt"] is not None


async def test_a_held_order_cannot_be_completed_until_it_resumes(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    await staff.ok(CHANGE, {"id": order["id"], "state": "HELD", "reason": "waiting for the customer"})
    before = await fingerprint(db)
    error = await staff.error(COMPLETE, {"id": order["id"], "force": False})
    assert (error["extensions"]["code"], error["extensions"]["current"]) == ("INVALID_TRANSITION", "held")
    assert await fingerprint(db) == before
    await staff.ok(CHANGE, {"id": order["id"], "state": "IN_PROGRESS"})
    assert (await staff.ok(COMPLETE, {"id": order["id"], "force": False}))["completeCustomerOrder"]["state"] == "COMPLETED"


async def test_closing_an_order_in_jeopardy_clears_its_level_at_once(staff: Api, clock: FrozenClock) -> None:
    now = clock.now()
    order = await create_order(staff, now, committedDate=(now + timedelta(days=5)).isoformat(), items=[{"productRef": "FIBRE"}])
    late_work = await schedule(
        staff, order["id"], now, days=(1, 9), itemId=order["items"][0]["id"]
    )  # ends after the committed date
    assert (await get_order(staff, order["id"]))["jeopardyLevel"] == "JEOPARDY"
    await progress(staff, late_work["id"], "IN_PROGRESS")
    await progress(staff, late_work["id"], "COMPLETED")  # the roll-up completes the order
    done = await get_order(staff, order["id"])
    assert (done["state"], done["jeopardyLevel"]) == ("COMPLETED", "NONE")

    other = await create_order(staff, now, committedDate=(now + timedelta(days=5)).isoformat())
    await schedule(staff, other["id"], now, days=(1, 9))
    cancelled = (await staff.ok(CANCEL, {"id": other["id"], "reason": "sales request withdrawn"}))["cancelCustomerOrder"]
    assert cancelled["state"] == "CANCELLED"
    assert (await get_order(staff, other["id"]))["jeopardyLevel"] == "NONE"
