"""Track & manage party orders: a requisition followed from the party's acknowledgement to delivery."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import iso
from tests.party import (
    CHANGE,
    COMPLETE,
    ORDER_TREE,
    REPORT,
    RESOLVE,
    acknowledge,
    create_party,
    get_po,
    key,
    order_with_party_items,
    partner_api,
    requisition,
)


async def test_a_party_order_is_followed_from_requisition_to_delivery_and_completes_the_customer_order(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff, "PARTNER", hours=24)
    supplier = await partner_api(http, db, clock, party["id"])
    order = await order_with_party_items(staff, now, party["id"], days=30)

    # Requisition: one party order for the party item, needed by the customer order's committed date.
    (po,) = await requisition(staff, order["id"])
    assert po["state"] == "PENDING"
    assert po["neededBy"] == order["committedDate"]
    assert [line["productRef"] for line in po["lines"]] == ["DARK-FIBRE-1"]
    assert await requisition(staff, order["id"]) == []  # nothing ordered twice

    # The party acknowledges with its own reference, committed date and a delivery plan.
    acked = await acknowledge(
        supplier,
        po["id"],
        now,
        days=20,
        ref="ACME-77",
        milestones=[{"name": "cable laid", "plannedDate": iso(now + timedelta(days=10))}],
    )
    assert acked["state"] == "ACKNOWLEDGED"
    assert acked["partyReference"] == "ACME-77"
    assert acked["expectedDeliveryDate"] == iso(now + timedelta(days=20))
    assert acked["nextReportDue"] == iso(now + timedelta(hours=24))
    (milestone,) = acked["milestones"]

    # Reports: progress, then the milestone reached.
    clock.advance(timedelta(days=2))
    first = await supplier.ok(REPORT, {"id": po["id"], "key": key(), "input": {"percentComplete": 30, "note": "ducts open"}})
    assert first["reportPartyOrderProgress"]["state"] == "IN_PROGRESS"
    clock.advance(timedelta(days=8))
    second = await supplier.ok(
        REPORT, {"id": po["id"], "key": key(), "input": {"percentComplete": 60, "milestoneId": milestone["id"]}}
    )
    reported = second["reportPartyOrderProgress"]
    assert reported["percentComplete"] == 60
    assert reported["milestones"][0]["reachedAt"] == iso(clock.now())
    assert [r["percentComplete"] for r in reported["progressReports"]] == [30, 60]

    tree = (await staff.ok(ORDER_TREE, {"id": order["id"]}))["customerOrder"]
    assert tree["state"] == "IN_PROGRESS"
    assert tree["items"][0]["state"] == "IN_PROGRESS"
    assert tree["items"][0]["partyOrders"] == [{"id": po["id"], "state": "IN_PROGRESS"}]
    assert tree["expectedCompletion"] == iso(now + timedelta(days=20))

    # A forced change: the party cannot make the date; staff accept it at the customer order.
    new_date = now + timedelta(days=40)
    change = (
        await supplier.ok(
            CHANGE,
            {
                "id": po["id"],
                "key": key(),
                "input": {
                    "nature": "FORCED",
                    "kind": "DELIVERY_DATE",
                    "proposedDeliveryDate": iso(new_date),
                    "reason": "permit delayed by the city",
                },
            },
        )
    )["requestPartyOrderChange"]
    assert change["state"] == "OPEN"
    waiting = await staff.ok(
        "query($o: ID!) { openChangeRequests(orderId: $o) { edges { node { id reason } } } }", {"o": order["id"]}
    )
    assert [e["node"]["id"] for e in waiting["openChangeRequests"]["edges"]] == [change["id"]]
    resolved = (await staff.ok(RESOLVE, {"id": change["id"], "decision": "ACCEPT", "note": "customer informed"}))[
        "resolvePartyChangeRequest"
    ]
    assert resolved["state"] == "ACCEPTED" and resolved["resolvedBy"] == "sam.staff"

    # Both sides see it: the party its resolved request and new dates, staff the re-dated customer order.
    seen = await get_po(supplier, po["id"])
    assert seen is not None
    assert seen["changeRequests"][0]["state"] == "ACCEPTED"
    assert seen["changeRequests"][0]["resolutionNote"] == "customer informed"
    assert seen["committedDeliveryDate"] == seen["expectedDeliveryDate"] == iso(new_date)
    tree = (await staff.ok(ORDER_TREE, {"id": order["id"]}))["customerOrder"]
    assert tree["expectedCompletion"] == iso(new_date)

    # Delivered: the item completes, and with it the customer order.
    clock.advance(timedelta(days=5))
    done = (await supplier.ok(COMPLETE, {"id": po["id"], "key": key(), "note": "handed over"}))["reportPartyOrderCompletion"]
    assert done["state"] == "COMPLETED" and done["deliveredAt"] == iso(clock.now()) and done["percentComplete"] == 100
    tree = (await staff.ok(ORDER_TREE, {"id": order["id"]}))["customerOrder"]
    assert tree["state"] == "COMPLETED"
    assert tree["items"][0]["state"] == "COMPLETED"
    assert tree["completedAt"] == iso(clock.now())

    # Every step is on the customer order's timeline, scoped to the party order and party.
    timeline = await staff.ok(
        "query($id: ID!) { orderTimeline(orderId: $id, first: 100) { edges { node { type partyOrderId } } } }",
        {"id": order["id"]},
    )
    types = [(e["node"]["type"], e["node"]["partyOrderId"]) for e in timeline["orderTimeline"]["edges"]]
    for expected in (
        "partyOrderCreated",
        "partyOrderAcknowledged",
        "partyProgressReported",
        "partyMilestonePlanned",
        "partyChangeRequested",
        "partyChangeResolved",
        "partyOrderCompleted",
    ):
        assert (expected, po["id"]) in types
    assert ("orderStateChanged", None) in types
