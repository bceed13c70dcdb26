"""An order's status never lies: every mutation's answer shows the order already reconciled with its work."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import col

from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import SCHEDULE, create_order, iso
from tests.fingerprint import fingerprint
from tests.jeopardy_support import alerts, monitor
from tests.party import (
    CANCEL_PO,
    COMPLETE,
    CONFIRM,
    acknowledge,
    create_party,
    key,
    partner_api,
    requisition,
)

ORDER = """query($id: ID!) { customerOrder(id: $id) {
  id state version expectedCompletion jeopardyLevel jeopardyReason escalationLevel
  items { id state } partyOrders { id state neededBy jeopardyLevel escalationLevel }
} }"""
COMPLETE_ORDER = """mutation($id: ID!, $force: Boolean!, $reason: String) {
  completeCustomerOrder(id: $id, force: $force, reason: $reason) { id state items { id state } } }"""
CANCEL_ORDER = "mutation($id: ID!, $reason: String!) { cancelCustomerOrder(id: $id, reason: $reason) { id state jeopardyLevel escalationLevel } }"
ESCALATE = """mutation($id: ID!, $level: Int!, $reason: String!) {
  escalateCustomerOrder(id: $id, level: $level, reason: $reason) { id escalationLevel } }"""
ESCALATE_PO = """mutation($id: ID!, $level: Int!, $reason: String!) {
  escalatePartyOrder(id: $id, level: $level, reason: $reason) { id escalationLevel } }"""
UPDATE_ORDER = """mutation($id: ID!, $version: Int!, $input: UpdateCustomerOrderInput!) {
  updateCustomerOrder(id: $id, version: $version, input: $input) { id version committedDate partyOrders { id neededBy } } }"""
TIMELINE = "query($id: ID!) { orderTimeline(orderId: $id, first: 100) { edges { node { type before after } } } }"


async def tree(staff: Api, order_id: str) -> dict[str, Any]:
    return (await staff.ok(ORDER, {"id": order_id}))["customerOrder"]


async def test_a_party_order_delivered_early_brings_the_expected_completion_forward_and_the_order_out_of_jeopardy(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await create_order(
        staff,
        now,
        priority="HIGH",
        committedDate=iso(now + timedelta(days=30)),
        items=[
            {"productRef": "DARK-FIBRE", "fulfillment": "PARTY", "partyId": party["id"]},
            {"productRef": "CPE"},
        ],
    )
    cpe = order["items"][1]["id"]
    await staff.ok(
        SCHEDULE,
        {
            "orderId": order["id"],
            "input": {
                "kind": "install",
                "itemId": cpe,
                "plannedStart": iso(now + timedelta(days=1)),
                "plannedEnd": iso(now + timedelta(days=10)),
            },
        },
    )
    (po,) = await requisition(staff, order["id"])
    # The party commits to a date after the customer's: the order is in jeopardy at once, and the
    # policy escalates a high-priority order in jeopardy without waiting for a sweep.
    await acknowledge(partner, po["id"], now, days=40)
    late = await tree(staff, order["id"])
    assert (late["expectedCompletion"], late["jeopardyLevel"], late["escalationLevel"]) == (
        iso(now + timedelta(days=40)),
        "JEOPARDY",
        1,
    )

    clock.advance(timedelta(days=5))
    delivered = (await partner.ok(COMPLETE, {"id": po["id"], "key": key()}))["reportPartyOrderCompletion"]
    assert delivered["state"] == "COMPLETED"
    # Delivered work counts at its delivery: what is left is the install, ending on day 10.
    fresh = await tree(staff, order["id"])
    assert fresh["expectedCompletion"] == iso(now + timedelta(days=10))
    assert (fresh["state"], fresh["jeopardyLevel"], fresh["escalationLevel"]) == ("IN_PROGRESS", "NONE", 0)
    assert [i["state"] for i in fresh["items"]] == ["COMPLETED", "ACKNOWLEDGED"]
    lowered = [e for e in await alerts(db, order["id"]) if e.type == "escalationLowered"]
    assert [(e.entity, e.data["after"]) for e in lowered] == [("order", {"escalation_level": 0})]
    # Sweeps find nothing left to correct.
    for _ in range(2):
        clock.advance(timedelta(hours=1))
        outcome = (await monitor(db, clock).sweep()).outcome
        assert outcome is not None and (outcome.level_changes, outcome.escalations) == (0, 0)
    assert await tree(staff, order["id"]) == fresh


async def test_an_escalated_customer_order_that_is_cancelled_is_de_escalated_with_its_event(
    staff: Api, db: Database, clock: FrozenClock
) -> None:
    order = await create_order(staff, clock.now())
    assert (await staff.ok(ESCALATE, {"id": order["id"], "level": 2, "reason": "the customer called the CEO"}))[
        "escalateCustomerOrder"
    ]["escalationLevel"] == 2
    cancelled = (await staff.ok(CANCEL_ORDER, {"id": order["id"], "reason": "sales request withdrawn"}))["cancelCustomerOrder"]
    assert (cancelled["state"], cancelled["jeopardyLevel"], cancelled["escalationLevel"]) == ("CANCELLED", "NONE", 0)
    events = await alerts(db, order["id"], prefix=("escalat",))
    assert [(e.type, e.data["after"]) for e in events] == [
        ("escalated", {"escalation_level": 2}),
        ("escalationLowered", {"escalation_level": 0}),
    ]
    assert events[-1].data["reason"] == "closed: the order is cancelled"


async def test_an_escalated_party_order_that_is_delivered_is_de_escalated_with_its_event(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await create_order(staff, clock.now(), items=[{"productRef": "DUCT", "fulfillment": "PARTY", "partyId": party["id"]}])
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], clock.now())
    await staff.ok(ESCALATE_PO, {"id": po["id"], "level": 1, "reason": "chasing the supplier"})
    delivered = (await partner.ok(COMPLETE, {"id": po["id"], "key": key()}))["reportPartyOrderCompletion"]
    assert (delivered["state"], delivered["escalationLevel"], delivered["jeopardyLevel"]) == ("COMPLETED", 0, "NONE")
    lowered = [e for e in await alerts(db, order["id"]) if e.type == "escalationLowered"]
    assert [(e.entity, e.party_order_id) for e in lowered] == [("partyOrder", int(po["id"]))]
    assert (await tree(staff, order["id"]))["state"] == "COMPLETED"  # its only item was delivered


async def test_a_cancelled_party_order_puts_its_item_back_to_wait_for_another_and_completion_is_refused_meanwhile(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    party, other = await create_party(staff), await create_party(staff)
    order = await create_order(staff, clock.now(), items=[{"productRef": "DUCT", "fulfillment": "PARTY", "partyId": party["id"]}])
    item = order["items"][0]["id"]
    (po,) = await requisition(staff, order["id"])
    cancelled = (await staff.ok(CANCEL_PO, {"id": po["id"], "reason": "wrong supplier"}))["cancelPartyOrder"]
    assert cancelled["state"] == "CANCELLED"
    waiting = await tree(staff, order["id"])
    assert (waiting["state"], [i["state"] for i in waiting["items"]]) == ("ACKNOWLEDGED", ["ACKNOWLEDGED"])
    # Nobody delivers the item now: completing the order without force is refused, naming it.
    before = await fingerprint(db)
    error = await staff.error(COMPLETE_ORDER, {"id": order["id"], "force": False})
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert f"item {item} (waiting for a party order)" in error["message"]
    assert await fingerprint(db) == before
    # It can be ordered again, and its delivery completes the customer order by itself.
    (again,) = await requisition(staff, order["id"], partyId=other["id"], itemIds=[item])
    partner = await partner_api(http, db, clock, other["id"])
    await acknowledge(partner, again["id"], clock.now())
    assert [i["state"] for i in (await tree(staff, order["id"]))["items"]] == ["IN_PROGRESS"]
    await partner.ok(COMPLETE, {"id": again["id"], "key": key()})
    done = await tree(staff, order["id"])
    assert (done["state"], [i["state"] for i in done["items"]]) == ("COMPLETED", ["COMPLETED"])


async def test_an_item_whose_acknowledged_party_order_is_cancelled_goes_back_to_pending(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await create_order(staff, clock.now(), items=[{"productRef": "DUCT", "fulfillment": "PARTY", "partyId": party["id"]}])
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], clock.now())
    await staff.ok(CANCEL_PO, {"id": po["id"], "reason": "no longer needed from them"})
    assert [i["state"] for i in (await tree(staff, order["id"]))["items"]] == ["IN_PROGRESS"]  # until the party confirms
    confirmed = (await partner.ok(CONFIRM, {"id": po["id"], "key": key()}))["confirmPartyOrderCancellation"]
    assert confirmed["state"] == "CANCELLED"
    fresh = await tree(staff, order["id"])
    assert (fresh["state"], [i["state"] for i in fresh["items"]]) == ("IN_PROGRESS", ["PENDING"])
    assert await requisition(staff, order["id"]) != []  # requisitionable again


async def test_a_forced_completion_records_the_work_and_items_it_closed(staff: Api, db: Database, clock: FrozenClock) -> None:
    party = await create_party(staff)
    order = await create_order(staff, clock.now(), items=[{"productRef": "DUCT", "fulfillment": "PARTY", "partyId": party["id"]}])
    item = order["items"][0]["id"]
    (po,) = await requisition(staff, order["id"])
    forced = (await staff.ok(COMPLETE_ORDER, {"id": order["id"], "force": True, "reason": "delivered outside the system"}))[
        "completeCustomerOrder"
    ]
    assert (forced["state"], [i["state"] for i in forced["items"]]) == ("COMPLETED", ["COMPLETED"])
    events = [e["node"] for e in (await staff.ok(TIMELINE, {"id": order["id"]}))["orderTimeline"]["edges"]]
    completed = next(e for e in events if e["type"] == "orderStateChanged" and e["after"] == {"state": "completed"})
    assert completed["before"] == {"state": "inProgress"}
    async with db.read() as session:
        from sqlalchemy import select

        from app.events import Event

        event = (
            (await session.execute(select(Event).where(col(Event.type) == "orderStateChanged").order_by(col(Event.seq).desc())))
            .scalars()
            .first()
        )
    assert event is not None and event.data["forced"] is True
    assert (event.data["closed_work"], event.data["closed_items"]) == ([f"partyOrder:{po['id']}"], [int(item)])
    assert (await tree(staff, order["id"]))["partyOrders"][0]["state"] == "CANCELLED"


async def test_a_party_item_must_name_a_party_that_exists_and_nothing_is_stored_otherwise(
    staff: Api, db: Database, clock: FrozenClock
) -> None:
    before = await fingerprint(db)
    from tests.factories import CREATE, order_input

    for item, message in [
        ({"productRef": "DUCT", "fulfillment": "PARTY"}, "names the party"),
        ({"productRef": "DUCT", "fulfillment": "PARTY", "partyId": "999"}, "Party 999 does not exist"),
        ({"productRef": "BUNDLE", "children": [{"productRef": "DUCT", "fulfillment": "PARTY", "partyId": "998"}]}, "Party 998"),
    ]:
        error = await staff.error(CREATE, {"input": order_input(clock.now(), items=[item])})
        assert (error["extensions"]["code"], error["extensions"]["field"]) == ("INVALID_INPUT", "items.partyId")
        assert message in error["message"]
    assert await fingerprint(db) == before


async def test_a_party_order_needed_by_follows_the_committed_date_unless_staff_gave_an_earlier_one(
    staff: Api, clock: FrozenClock
) -> None:
    now = clock.now()
    a, b = await create_party(staff), await create_party(staff)
    order = await create_order(
        staff,
        now,
        committedDate=iso(now + timedelta(days=30)),
        items=[
            {"productRef": "A", "fulfillment": "PARTY", "partyId": a["id"]},
            {"productRef": "B", "fulfillment": "PARTY", "partyId": b["id"]},
        ],
    )
    (following,) = await requisition(staff, order["id"], partyId=a["id"])
    (given,) = await requisition(staff, order["id"], partyId=b["id"], neededBy=iso(now + timedelta(days=20)))
    version = (await tree(staff, order["id"]))["version"]
    later = (
        await staff.ok(
            UPDATE_ORDER, {"id": order["id"], "version": version, "input": {"committedDate": iso(now + timedelta(days=40))}}
        )
    )["updateCustomerOrder"]
    needed = {p["id"]: p["neededBy"] for p in later["partyOrders"]}
    assert needed == {following["id"]: iso(now + timedelta(days=40)), given["id"]: iso(now + timedelta(days=20))}
    earlier = (
        await staff.ok(
            UPDATE_ORDER,
            {"id": order["id"], "version": later["version"], "input": {"committedDate": iso(now + timedelta(days=15))}},
        )
    )["updateCustomerOrder"]
    assert {p["neededBy"] for p in earlier["partyOrders"]} == {iso(now + timedelta(days=15))}


async def test_a_progress_report_from_a_silent_party_ends_its_at_risk_level_in_the_answer(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    from tests.party import REPORT

    party = await create_party(staff, hours=24)
    partner = await partner_api(http, db, clock, party["id"])
    order = await create_order(staff, clock.now(), items=[{"productRef": "DUCT", "fulfillment": "PARTY", "partyId": party["id"]}])
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], clock.now())
    await partner.ok(REPORT, {"id": po["id"], "key": key(), "input": {"percentComplete": 10}})  # now in progress
    clock.advance(timedelta(hours=25))
    await monitor(db, clock).sweep()
    assert (await tree(staff, order["id"]))["partyOrders"][0]["jeopardyLevel"] == "AT_RISK"
    # The usual report (percent only, on a party order in progress) ends it at once.
    answer = (await partner.ok(REPORT, {"id": po["id"], "key": key(), "input": {"percentComplete": 40}}))[
        "reportPartyOrderProgress"
    ]
    assert (answer["percentComplete"], answer["jeopardyLevel"]) == (40, "NONE")
    assert (await tree(staff, order["id"]))["partyOrders"][0]["jeopardyLevel"] == "NONE"
