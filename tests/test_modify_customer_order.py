"""Staff add information to an order and modify it; a change against a stale version is refused."""

from __future__ import annotations

from datetime import timedelta

from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import create_order, get_order
from tests.fingerprint import fingerprint

UPDATE = """mutation($id: ID!, $version: Int!, $input: UpdateCustomerOrderInput!) {
  updateCustomerOrder(id: $id, version: $version, input: $input) {
    id version priority committedDate description contacts { name email } characteristics { name value }
  }
}"""
NOTE = "mutation($id: ID!, $text: String!) { addOrderNote(orderId: $id, text: $text) { id text author createdAt } }"
TIMELINE = """query($id: ID!) { orderTimeline(orderId: $id) { edges { cursor node { sequence type actor before after } } } }"""


async def test_staff_modify_dates_priority_and_characteristics(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), characteristics=[{"name": "vlan", "value": "100"}])
    new_date = (clock.now() + timedelta(days=45)).isoformat()
    updated = (
        await staff.ok(
            UPDATE,
            {
                "id": order["id"],
                "version": 1,
                "input": {
                    "committedDate": new_date,
                    "priority": "CRITICAL",
                    "characteristics": [{"name": "bandwidth", "value": "1G"}],
                },
            },
        )
    )["updateCustomerOrder"]
    assert updated["version"] == 2
    assert updated["priority"] == "CRITICAL"
    assert updated["committedDate"].startswith(new_date[:19])
    assert updated["characteristics"] == [{"name": "bandwidth", "value": "1G"}, {"name": "vlan", "value": "100"}]

    removed = (await staff.ok(UPDATE, {"id": order["id"], "version": 2, "input": {"removeCharacteristics": ["vlan"]}}))[
        "updateCustomerOrder"
    ]
    assert removed["characteristics"] == [{"name": "bandwidth", "value": "1G"}]

    timeline = (await staff.ok(TIMELINE, {"id": order["id"]}))["orderTimeline"]["edges"]
    updates = [e["node"] for e in timeline if e["node"]["type"] == "orderUpdated"]
    assert updates[0]["before"]["priority"] == "normal" and updates[0]["after"]["priority"] == "critical"
    assert updates[0]["actor"] == "sam.staff"
    assert updates[1]["before"]["characteristics"] == {"bandwidth": "1G", "vlan": "100"}


async def test_a_change_against_a_stale_version_is_refused_and_changes_nothing(
    staff: Api, db: Database, clock: FrozenClock
) -> None:
    order = await create_order(staff, clock.now())
    await staff.ok(UPDATE, {"id": order["id"], "version": 1, "input": {"description": "first writer"}})
    before = await fingerprint(db)
    error = await staff.error(UPDATE, {"id": order["id"], "version": 1, "input": {"description": "second writer"}})
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["current_version"] == 2
    assert "changed by someone else" in error["message"]
    assert await fingerprint(db) == before


async def test_staff_add_notes_to_an_order(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    note = (await staff.ok(NOTE, {"id": order["id"], "text": "Customer prefers morning installs"}))["addOrderNote"]
    assert note["author"] == "sam.staff"
    data = await staff.ok("query($id: ID!) { customerOrder(id: $id) { notes { text } } }", {"id": order["id"]})
    assert data["customerOrder"]["notes"] == [{"text": "Customer prefers morning installs"}]


async def test_refused_modifications_leave_the_order_unchanged(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    past = (clock.now() - timedelta(hours=1)).isoformat()
    cases = [
        ({"committedDate": past}, "INVALID_INPUT"),
        ({"contacts": [{"name": "X", "email": "not-an-address"}]}, "INVALID_INPUT"),
        ({"description": "x" * 2001}, "INVALID_INPUT"),
        ({"customerName": "   "}, "INVALID_INPUT"),
        ({"description": "bell\x07"}, "INVALID_INPUT"),
        ({"removeCharacteristics": ["never-set"]}, "INVALID_INPUT"),
        ({}, "INVALID_INPUT"),
    ]
    before = await fingerprint(db)
    for change, code in cases:
        assert await staff.code(UPDATE, {"id": order["id"], "version": 1, "input": change}) == code, change
    assert await staff.code(UPDATE, {"id": "999999", "version": 1, "input": {"description": "x"}}) == "NOT_FOUND"
    assert await staff.code(NOTE, {"id": order["id"], "text": ""}) == "INVALID_INPUT"
    assert await staff.code(NOTE, {"id": "424242", "text": "hello"}) == "NOT_FOUND"
    assert await fingerprint(db) == before
    assert (await get_order(staff, order["id"]))["version"] == 1
