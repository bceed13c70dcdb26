"""Staff follow party orders: requisitions by party, feedback, status, check-ins, milestones, change requests."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import create_order, iso
from tests.party import (
    CHANGE,
    CHECK_IN,
    GET_PO_STAFF,
    MILESTONE,
    ORDER_TREE,
    REJECT,
    REPORT,
    RESOLVE,
    STATE_PO,
    UPDATE_PO,
    acknowledge,
    create_party,
    get_po,
    key,
    partner_api,
    requisition,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The event bus reads the log every second as a safety net; keep its reads out of statement counts."""
    settings.bus_poll_interval_seconds = 3600
    settings.token_cache_seconds = 0  # one token lookup per request, however slow the machine is
    settings.response_cache_size = 0  # count what executing the query costs, not the cache's sequence check
    return settings


async def test_a_requisition_makes_one_party_order_per_party_for_the_party_items(staff: Api, clock: FrozenClock) -> None:
    now = clock.now()
    a, b = await create_party(staff), await create_party(staff)
    order = await create_order(
        staff,
        now,
        items=[
            {
                "productRef": "LINK-A1",
                "fulfillment": "PARTY",
                "partyId": a["id"],
                "children": [{"productRef": "LINK-A2", "fulfillment": "PARTY", "partyId": a["id"]}],
            },
            {"productRef": "LINK-B", "fulfillment": "PARTY", "partyId": b["id"]},
            {"productRef": "LINK-B2", "fulfillment": "PARTY", "partyId": b["id"]},
            {"productRef": "IN-HOUSE"},
        ],
    )
    later = next(i for i in order["items"] if i["productRef"] == "LINK-B2")
    needed = iso(now + timedelta(days=20))
    # Explicit items first (ordered on their own), then every other party item, one party order per party.
    (explicit,) = await requisition(staff, order["id"], partyId=b["id"], itemIds=[later["id"]])
    assert [line["productRef"] for line in explicit["lines"]] == ["LINK-B2"]
    pos = await requisition(staff, order["id"], neededBy=needed)
    assert [(p["partyId"], sorted(line["productRef"] for line in p["lines"])) for p in pos] == [
        (a["id"], ["LINK-A1", "LINK-A2"]),
        (b["id"], ["LINK-B"]),
    ]
    assert {p["neededBy"] for p in pos} == {needed}
    assert explicit["neededBy"] == order["committedDate"]
    assert await requisition(staff, order["id"]) == []

    tree = (await staff.ok(ORDER_TREE, {"id": order["id"]}))["customerOrder"]
    by_ref = {i["id"]: i for i in tree["items"]}
    first = by_ref[order["items"][0]["id"]]
    assert first["partyOrders"] == [{"id": pos[0]["id"], "state": "PENDING"}]
    assert first["children"][0]["partyOrders"] == [{"id": pos[0]["id"]}]
    assert [p["id"] for p in tree["partyOrders"]] == [explicit["id"], pos[0]["id"], pos[1]["id"]]


async def test_staff_record_feedback_status_and_check_ins_and_the_customer_order_is_re_dated(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff)
    order = await create_order(staff, now, items=[{"productRef": "DUCT", "fulfillment": "PARTY", "partyId": party["id"]}])
    (po,) = await requisition(staff, order["id"])
    # The party answered by phone: staff record its reference and dates, then move the status on.
    updated = (
        await staff.ok(
            UPDATE_PO,
            {
                "id": po["id"],
                "version": po["version"],
                "input": {
                    "partyReference": "PH-12",
                    "committedDeliveryDate": iso(now + timedelta(days=12)),
                    "note": "confirmed by phone",
                },
            },
        )
    )["updatePartyOrder"]
    assert updated["partyReference"] == "PH-12" and updated["version"] == po["version"] + 1
    moved = (await staff.ok(STATE_PO, {"id": po["id"], "state": "ACKNOWLEDGED", "version": updated["version"]}))[
        "changePartyOrderState"
    ]
    assert moved["state"] == "ACKNOWLEDGED" and moved["acknowledgedAt"] == iso(now)
    held = (await staff.ok(STATE_PO, {"id": po["id"], "state": "HELD", "reason": "waiting for wayleave"}))[
        "changePartyOrderState"
    ]
    assert held["state"] == "HELD" and held["stateReason"] == "waiting for wayleave"

    clock.advance(timedelta(days=1))
    new_date = now + timedelta(days=25)
    check_in = (
        await staff.ok(
            CHECK_IN,
            {
                "id": po["id"],
                "input": {
                    "at": iso(clock.now() - timedelta(hours=2)),
                    "withWhom": "Jo at Fibre Co",
                    "outcome": "wayleave expected next week",
                    "newExpectedDeliveryDate": iso(new_date),
                },
            },
        )
    )["recordPartyCheckIn"]
    assert check_in["recordedBy"] == "sam.staff"
    seen = await get_po(staff, po["id"], GET_PO_STAFF)
    assert seen is not None
    assert seen["expectedDeliveryDate"] == iso(new_date)
    assert [c["outcome"] for c in seen["checkIns"]] == ["wayleave expected next week"]
    tree = (await staff.ok(ORDER_TREE, {"id": order["id"]}))["customerOrder"]
    assert tree["expectedCompletion"] == iso(new_date)

    milestone = await staff.ok(
        MILESTONE, {"id": po["id"], "input": {"name": "wayleave granted", "plannedDate": iso(now + timedelta(days=7))}}
    )
    assert milestone["planPartyMilestone"]["reachedAt"] is None
    timeline = await staff.ok(
        "query($id: ID!) { orderTimeline(orderId: $id, first: 100) { edges { node { type } } } }", {"id": order["id"]}
    )
    types = [e["node"]["type"] for e in timeline["orderTimeline"]["edges"]]
    assert {"partyOrderUpdated", "partyOrderStateChanged", "partyCheckInRecorded", "partyMilestonePlanned"} <= set(types)


async def test_a_rejected_change_request_leaves_the_dates_and_the_party_sees_why(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await create_order(staff, now, items=[{"productRef": "DUCT", "fulfillment": "PARTY", "partyId": party["id"]}])
    (po,) = await requisition(staff, order["id"])
    acked = await acknowledge(partner, po["id"], now, days=10)
    change = await partner.ok(
        CHANGE,
        {
            "id": po["id"],
            "key": key(),
            "input": {
                "nature": "REQUESTED",
                "kind": "DELIVERY_DATE",
                "proposedDeliveryDate": iso(now + timedelta(days=30)),
                "reason": "holidays",
            },
        },
    )
    cr = change["requestPartyOrderChange"]
    mine = await partner.ok("{ openChangeRequests { edges { node { id state } } } }")
    assert mine["openChangeRequests"]["edges"] == [{"node": {"id": cr["id"], "state": "OPEN"}}]
    await staff.ok(RESOLVE, {"id": cr["id"], "decision": "REJECT", "note": "the customer cannot wait"})
    seen = await get_po(partner, po["id"])
    assert seen is not None
    assert seen["changeRequests"][0]["state"] == "REJECTED"
    assert seen["changeRequests"][0]["resolutionNote"] == "the customer cannot wait"
    assert seen["expectedDeliveryDate"] == acked["expectedDeliveryDate"]
    assert (await partner.ok("{ openChangeRequests { edges { node { id } } } }"))["openChangeRequests"]["edges"] == []


async def test_a_party_rejects_an_order_and_the_item_can_be_ordered_elsewhere(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    party, other = await create_party(staff), await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await create_order(staff, clock.now(), items=[{"productRef": "DUCT", "fulfillment": "PARTY", "partyId": party["id"]}])
    item_id = order["items"][0]["id"]
    (po,) = await requisition(staff, order["id"], partyId=party["id"], itemIds=[item_id])
    rejected = (await partner.ok(REJECT, {"id": po["id"], "key": key(), "reason": "no capacity this quarter"}))[
        "rejectPartyOrder"
    ]
    assert rejected["state"] == "REJECTED" and rejected["stateReason"] == "no capacity this quarter"
    (again,) = await requisition(staff, order["id"], partyId=other["id"], itemIds=[item_id])
    assert again["partyId"] == other["id"]


async def test_party_orders_are_listed_by_party_state_overdue_report_and_needed_by(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    fast, slow = await create_party(staff, hours=24), await create_party(staff, hours=24 * 7)
    p_fast, p_slow = await partner_api(http, db, clock, fast["id"]), await partner_api(http, db, clock, slow["id"])
    ids = []
    for days in (10, 20, 30):
        order = await create_order(
            staff,
            now,
            committedDate=iso(now + timedelta(days=days)),
            items=[
                {"productRef": "A", "fulfillment": "PARTY", "partyId": fast["id"]},
                {"productRef": "B", "fulfillment": "PARTY", "partyId": slow["id"]},
            ],
        )
        ids.append([p["id"] for p in await requisition(staff, order["id"])])
    for fast_po, slow_po in ids:
        await acknowledge(p_fast, fast_po, now, days=40)
        await acknowledge(p_slow, slow_po, now, days=40)
    clock.advance(timedelta(days=2))
    await p_fast.ok(REPORT, {"id": ids[0][0], "key": key(), "input": {"percentComplete": 20}})

    async def listing(filter: dict[str, object], **args: object) -> list[str]:
        q = "query($f: PartyOrderFilter, $first: Int!, $after: String, $sort: PartyOrderSortField!, $dir: SortDirection!) { partyOrders(filter: $f, first: $first, after: $after, sort: $sort, direction: $dir) { edges { node { id } } pageInfo { hasNextPage endCursor } totalCount } }"
        variables = {"f": filter, "first": 100, "after": None, "sort": "NEEDED_BY", "dir": "ASC", **args}
        return [e["node"]["id"] for e in (await staff.ok(q, variables))["partyOrders"]["edges"]]

    assert await listing({"partyId": fast["id"]}) == [i[0] for i in ids]
    assert await listing({"reportOverdue": True}) == [ids[1][0], ids[2][0]]  # the fast party's silent ones
    assert await listing({"reportOverdue": False, "partyId": fast["id"]}) == [ids[0][0]]
    assert await listing({"states": ["IN_PROGRESS"]}) == [ids[0][0]]
    assert await listing({"neededFrom": iso(now + timedelta(days=15)), "neededTo": iso(now + timedelta(days=25))}) == sorted(
        ids[1], key=int
    )
    # Cursor pagination over all six, two at a time.
    seen: list[str] = []
    after = None
    q = "query($after: String) { partyOrders(first: 2, after: $after, sort: NEEDED_BY, direction: ASC) { edges { node { id } } pageInfo { hasNextPage endCursor } } }"
    while True:
        page = (await staff.ok(q, {"after": after}))["partyOrders"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen, key=int) == sorted([i for pair in ids for i in pair], key=int) and len(seen) == 6


async def test_the_order_tree_with_party_orders_costs_the_same_queries_for_many_orders_as_for_few(
    db: Database, clock: FrozenClock, settings: Settings
) -> None:
    # An app without background parts: the realtime bus polls the event log on the same engine.
    quiet = create_app(settings, db=db, clock=clock, components=[])
    async with (
        quiet.router.lifespan_context(quiet),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=quiet), base_url="http://ordertrack.test") as client,
    ):
        staff = Api(client, await issue_token(db, clock, Role.STAFF, "counting.staff"))
        party = await create_party(staff)
        query = """query($n: Int!) { customerOrders(first: $n) { edges { node { id
          items { id partyOrders { id state party { name } lines { productRef } milestones { id } progressReports { id } changeRequests { id } } }
          partyOrders { id checkIns { id } customerOrder { id } } } } } }"""
        made = 0

        async def statements(n: int) -> int:
            nonlocal made
            for _ in range(n - made):
                order = await create_order(
                    staff, clock.now(), items=[{"productRef": "X", "fulfillment": "PARTY", "partyId": party["id"]}]
                )
                await requisition(staff, order["id"])
            made = max(made, n)
            start = db.statements.count
            data = await staff.ok(query, {"n": n})
            assert len(data["customerOrders"]["edges"]) == n
            assert all(e["node"]["items"][0]["partyOrders"] for e in data["customerOrders"]["edges"])
            return db.statements.count - start

        few = await statements(3)
        many = await statements(10)
    assert many == few
    assert many <= 26  # token lookup, page, one statement per nested list (SQLite adds a BEGIN per read session)
