"""Changing an order in flight: each row of the consequence table, and each point of no return.

Every test runs on SQLite and on PostgreSQL (the ``db`` fixture).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import col

from app.clock import FrozenClock
from app.db import Database
from app.jeopardy.policy import Policy
from tests.amend import ACK_REVISION, AMEND, PREVIEW, REJECT_REVISION, REVISIONS, amend, events, item, tree
from tests.api import Api
from tests.factories import create_order, iso, progress, schedule
from tests.fingerprint import fingerprint
from tests.party import (
    COMPLETE,
    CONFIRM,
    GET_PO,
    REPORT,
    acknowledge,
    create_party,
    key,
    order_with_party_items,
    partner_api,
    requisition,
)

GENERATE = "mutation($id: ID!) { generateServiceOrderRequests(orderId: $id) { id itemId state } }"
SOR_STATE = (
    "mutation($id: ID!, $state: ServiceOrderRequestState) { updateServiceOrderRequest(id: $id, state: $state) { id state } }"
)
OPEN_REQUESTS = (
    "query($id: ID) { openChangeRequests(orderId: $id) { edges { node { id partyOrderId nature kind reason state } } } }"
)


async def test_an_order_nobody_started_changes_freely_as_one_new_revision(staff: Api, clock: FrozenClock) -> None:
    now = clock.now()
    order = await create_order(staff, now)
    fibre, ip = item(await tree(staff, order["id"]), "FIBRE-1G"), item(await tree(staff, order["id"]), "IP-BLOCK")
    planned = await schedule(staff, order["id"], now, itemId=ip["id"])
    order = await tree(staff, order["id"])

    answer = await amend(
        staff,
        order,
        add=[{"parentId": fibre["id"], "item": {"productRef": "SECOND-LINE", "quantity": 2}}],
        modify=[{"itemId": fibre["id"], "quantity": 3, "characteristics": [{"name": "bandwidth", "value": "10G"}]}],
        remove=[{"itemId": ip["id"], "reason": "customer has its own addresses"}],
    )

    assert answer == await tree(staff, order["id"])  # the whole reconciled tree
    assert (answer["revision"], answer["version"]) == (1, order["version"] + 1)
    assert item(answer, "FIBRE-1G")["quantity"] == 3
    assert item(answer, "FIBRE-1G")["characteristics"] == [{"name": "bandwidth", "value": "10G"}]
    assert item(answer, "SECOND-LINE")["parentId"] == fibre["id"]
    assert item(answer, "IP-BLOCK")["state"] == "CANCELLED"
    assert (
        next(a for a in answer["activities"] if a["id"] == planned["id"])["state"] == "CANCELLED"
    )  # its planned work goes with it
    amended = [e for e in await events(staff, order["id"]) if e["details"].get("revision") == 1 or e["type"] == "orderAmended"]
    assert {e["type"] for e in amended} >= {"itemAdded", "itemModified", "itemRemoved", "orderAmended"}
    summary = next(e for e in amended if e["type"] == "orderAmended")
    assert (summary["after"], summary["details"]["modified"], summary["details"]["removed"]) == (
        {"revision": 1},
        [int(fibre["id"])],
        [int(ip["id"])],
    )


async def test_started_work_is_rescheduled_and_its_service_order_supplemented_or_cancelled(
    staff: Api, clock: FrozenClock
) -> None:
    now = clock.now()
    order = await create_order(staff, now)
    fibre, ip = item(await tree(staff, order["id"]), "FIBRE-1G"), item(await tree(staff, order["id"]), "IP-BLOCK")
    install = await schedule(staff, order["id"], now, days=(0, 2), itemId=fibre["id"], plannedStart=iso(now - timedelta(hours=1)))
    config = await schedule(staff, order["id"], now, days=(0, 1), itemId=ip["id"], plannedStart=iso(now - timedelta(hours=1)))
    await progress(staff, install["id"], "IN_PROGRESS")
    await progress(staff, config["id"], "IN_PROGRESS")
    requests = {r["itemId"]: r for r in (await staff.ok(GENERATE, {"id": order["id"]}))["generateServiceOrderRequests"]}
    await staff.ok(SOR_STATE, {"id": requests[fibre["id"]]["id"], "state": "IN_PROGRESS"})
    clock.advance(timedelta(days=1))
    before = await tree(staff, order["id"])

    answer = await amend(
        staff,
        before,
        modify=[{"itemId": fibre["id"], "quantity": 4}],
        remove=[{"itemId": ip["id"], "reason": "dropped by the customer"}],
    )

    acts = {a["id"]: a for a in answer["activities"]}
    duration = timedelta(days=2, hours=1)
    assert acts[install["id"]]["state"] == "IN_PROGRESS"
    assert acts[install["id"]]["plannedEnd"] == iso(clock.now() + duration)  # re-planned from now, same duration
    assert acts[config["id"]]["state"] == "CANCELLED"
    sors = {r["itemId"]: r for r in answer["serviceOrderRequests"]}
    assert (sors[fibre["id"]]["state"], sors[fibre["id"]]["supplement"]) == ("IN_PROGRESS", 1)
    assert sors[ip["id"]]["state"] == "CANCELLED"
    assert item(answer, "IP-BLOCK")["state"] == "CANCELLED"
    assert answer["expectedCompletion"] == iso(clock.now() + duration)
    supplement = next(e for e in await events(staff, order["id"]) if e["type"] == "serviceOrderSupplemented")
    assert supplement["after"]["quantity"] == 4 and supplement["details"]["revision"] == 1


async def test_a_party_item_changed_sends_its_party_a_revision_to_acknowledge_once(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await order_with_party_items(staff, now, party["id"])
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], now)
    line = (await tree(staff, order["id"]))["allItems"][0]

    answer = await amend(
        staff,
        await tree(staff, order["id"]),
        modify=[{"itemId": line["id"], "quantity": 5, "characteristics": [{"name": "colour", "value": "blue"}]}],
    )

    assert answer["partyOrders"][0]["revision"] == 1
    seen = (await partner.ok(REVISIONS, {"id": po["id"]}))["partyOrder"]
    (revision,) = seen["revisions"]
    assert (revision["revision"], revision["state"]) == (1, "open")
    assert revision["lines"] == [
        {
            "itemId": line["id"],
            "productRef": line["productRef"],
            "change": "modify",
            "quantity": 5,
            "previousQuantity": 2,
            "characteristics": [{"name": "colour", "value": "blue"}],
        }
    ]
    ack_key = key()
    first = (await partner.ok(ACK_REVISION, {"id": po["id"], "revision": 1, "key": ack_key}))["acknowledgePartyOrderRevision"]
    again = (await partner.ok(ACK_REVISION, {"id": po["id"], "revision": 1, "key": ack_key}))["acknowledgePartyOrderRevision"]
    assert first == again and first["revisions"] == [{"revision": 1, "state": "acknowledged"}]
    assert (
        await partner.code(REJECT_REVISION, {"id": po["id"], "revision": 1, "key": ack_key, "reason": "x"})
        == "IDEMPOTENCY_MISMATCH"
    )
    assert await partner.code(ACK_REVISION, {"id": po["id"], "revision": 1, "key": key()}) == "INVALID_TRANSITION"
    partner_events = await partner.ok("query($id: ID!) { partyOrder(id: $id) { id } }", {"id": po["id"]})
    assert partner_events["partyOrder"]["id"] == po["id"]


async def test_a_revision_the_party_rejects_comes_back_to_staff_as_an_open_change_request(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await order_with_party_items(staff, now, party["id"])
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], now)
    line = (await tree(staff, order["id"]))["allItems"][0]
    await amend(staff, await tree(staff, order["id"]), modify=[{"itemId": line["id"], "quantity": 9}])

    reject_key = key()
    variables = {"id": po["id"], "revision": 1, "key": reject_key, "reason": "only 4 ports free"}
    first = (await partner.ok(REJECT_REVISION, variables))["rejectPartyOrderRevision"]
    again = (await partner.ok(REJECT_REVISION, variables))["rejectPartyOrderRevision"]
    assert first == again
    assert first["revisions"][0]["state"] == "rejected" and first["revisions"][0]["reason"] == "only 4 ports free"
    requests = [e["node"] for e in (await staff.ok(OPEN_REQUESTS, {"id": order["id"]}))["openChangeRequests"]["edges"]]
    assert [(r["id"], r["partyOrderId"], r["state"]) for r in requests] == [
        (first["revisions"][0]["changeRequestId"], po["id"], "OPEN")
    ]
    assert "only 4 ports free" in requests[0]["reason"]


async def test_a_removed_party_item_cancels_its_party_order_at_once_or_once_the_party_confirms(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    a, b = await create_party(staff), await create_party(staff)
    partner_a = await partner_api(http, db, clock, a["id"])
    order = await create_order(
        staff,
        now,
        items=[
            {"productRef": "A-LINE", "fulfillment": "PARTY", "partyId": a["id"]},
            {"productRef": "B-LINE", "fulfillment": "PARTY", "partyId": b["id"]},
            {"productRef": "KEEP"},
        ],
    )
    po_a, po_b = await requisition(staff, order["id"])
    await acknowledge(partner_a, po_a["id"], now)
    current = await tree(staff, order["id"])

    answer = await amend(
        staff,
        current,
        remove=[
            {"itemId": item(current, "A-LINE")["id"], "reason": "site closed"},
            {"itemId": item(current, "B-LINE")["id"], "reason": "site closed"},
        ],
    )

    pos = {p["id"]: p["state"] for p in answer["partyOrders"]}
    assert (pos[po_a["id"]], pos[po_b["id"]]) == ("PENDING_CANCELLATION", "CANCELLED")  # B never acknowledged
    assert (item(answer, "A-LINE")["state"], item(answer, "B-LINE")["state"]) == ("PENDING_CANCELLATION", "CANCELLED")
    assert answer["state"] == current["state"] == "IN_PROGRESS"  # the order goes on with what is left

    await partner_a.ok(CONFIRM, {"id": po_a["id"], "key": key(), "note": "stood down"})
    after = await tree(staff, order["id"])
    assert item(after, "A-LINE")["state"] == "CANCELLED"
    assert (after["state"], item(after, "KEEP")["state"]) == ("IN_PROGRESS", "ACKNOWLEDGED")


async def _refused(staff: Api, db: Database, order: dict[str, Any], changes: dict[str, Any], item_id: str, reason: str) -> None:
    """The amendment is refused naming the item and why, and the database is exactly as it was."""
    before = await fingerprint(db)
    error = await staff.error(AMEND, {"id": order["id"], "version": order["version"], "input": changes})
    assert error["extensions"]["code"] == "AMENDMENT_NOT_ALLOWED"
    assert {"itemId": item_id, "reason": reason} in error["extensions"]["refusals"]
    assert f"item {item_id}" in error["message"]
    assert await fingerprint(db) == before
    assert (await tree(staff, order["id"]))["version"] == order["version"]


async def test_a_completed_activity_is_a_point_of_no_return_and_nothing_of_the_amendment_is_applied(
    staff: Api, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    order = await create_order(staff, now)
    current = await tree(staff, order["id"])
    fibre, ip = item(current, "FIBRE-1G"), item(current, "IP-BLOCK")
    act = await schedule(staff, order["id"], now, itemId=fibre["id"], plannedStart=iso(now - timedelta(hours=2)))
    await progress(staff, act["id"], "IN_PROGRESS")
    await progress(staff, act["id"], "COMPLETED")
    current = await tree(staff, order["id"])
    changes = {
        "modify": [{"itemId": ip["id"], "quantity": 7}],
        "remove": [{"itemId": fibre["id"], "reason": "not needed"}],
        "add": [{"item": {"productRef": "NEW"}}],
    }
    await _refused(staff, db, current, changes, fibre["id"], f"its activity {act['id']} is completed")


async def test_a_completed_service_order_request_is_a_point_of_no_return(staff: Api, db: Database, clock: FrozenClock) -> None:
    now = clock.now()
    order = await create_order(staff, now)
    ip_id = item(await tree(staff, order["id"]), "IP-BLOCK")["id"]
    await schedule(staff, order["id"], now, itemId=ip_id)  # still open work: the item itself is not completed
    requests = (await staff.ok(GENERATE, {"id": order["id"]}))["generateServiceOrderRequests"]
    ip_request = next(r for r in requests if r["itemId"] == ip_id)
    await staff.ok(SOR_STATE, {"id": ip_request["id"], "state": "IN_PROGRESS"})
    await staff.ok(SOR_STATE, {"id": ip_request["id"], "state": "COMPLETED"})
    current = await tree(staff, order["id"])
    assert item(current, "IP-BLOCK")["state"] == "IN_PROGRESS"
    await _refused(
        staff,
        db,
        current,
        {"modify": [{"itemId": ip_id, "quantity": 1}]},
        ip_id,
        f"its service order request {ip_request['id']} is completed",
    )


async def test_a_delivered_party_order_is_a_point_of_no_return(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await create_order(
        staff, now, items=[{"productRef": "DELIVERED", "fulfillment": "PARTY", "partyId": party["id"]}, {"productRef": "OTHER"}]
    )
    delivered = item(await tree(staff, order["id"]), "DELIVERED")
    await schedule(staff, order["id"], now, itemId=delivered["id"])  # the on-site hand-over is still to come
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], now)
    await partner.ok(COMPLETE, {"id": po["id"], "key": key()})
    current = await tree(staff, order["id"])
    await _refused(
        staff,
        db,
        current,
        {"remove": [{"itemId": delivered["id"], "reason": "x"}]},
        delivered["id"],
        f"its party order {po['id']} was delivered",
    )
    # An item that is completed already names its delivery too.
    other = await create_order(
        staff, now, items=[{"productRef": "DONE", "fulfillment": "PARTY", "partyId": party["id"]}, {"productRef": "O"}]
    )
    (po2,) = await requisition(staff, other["id"])
    await acknowledge(partner, po2["id"], now)
    await partner.ok(COMPLETE, {"id": po2["id"], "key": key()})
    current = await tree(staff, other["id"])
    done = item(current, "DONE")
    await _refused(
        staff,
        db,
        current,
        {"modify": [{"itemId": done["id"], "quantity": 3}]},
        done["id"],
        f"the item is completed; its party order {po2['id']} was delivered",
    )


async def test_a_stale_version_or_a_closed_order_refuses_the_amendment(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    changes = {"add": [{"item": {"productRef": "X"}}]}
    assert await staff.code(AMEND, {"id": order["id"], "version": order["version"] + 1, "input": changes}) == "CONFLICT"
    assert await staff.code(AMEND, {"id": order["id"], "version": order["version"], "input": {}}) == "INVALID_INPUT"
    cancelled = await staff.ok(
        'mutation($id: ID!) { cancelCustomerOrder(id: $id, reason: "gone") { version } }', {"id": order["id"]}
    )
    version = cancelled["cancelCustomerOrder"]["version"]
    assert await staff.code(AMEND, {"id": order["id"], "version": version, "input": changes}) == "INVALID_TRANSITION"


async def test_the_preview_commits_nothing_and_equals_what_the_commit_then_does(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await create_order(
        staff,
        now,
        items=[
            {"productRef": "P", "fulfillment": "PARTY", "partyId": party["id"], "quantity": 2},
            {"productRef": "I"},
            {"productRef": "J"},
        ],
    )
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], now)
    current = await tree(staff, order["id"])
    act = await schedule(
        staff, order["id"], now, days=(0, 5), itemId=item(current, "I")["id"], plannedStart=iso(now - timedelta(hours=1))
    )
    await progress(staff, act["id"], "IN_PROGRESS")
    clock.advance(timedelta(days=3))
    current = await tree(staff, order["id"])
    changes = {
        "add": [{"item": {"productRef": "NEW"}}],
        "modify": [{"itemId": item(current, "P")["id"], "quantity": 3}, {"itemId": item(current, "I")["id"], "quantity": 2}],
        "remove": [{"itemId": item(current, "J")["id"], "reason": "not needed"}],
    }

    before = await fingerprint(db)
    preview = (await staff.ok(PREVIEW, {"id": order["id"], "input": changes}))["amendmentPreview"]
    assert await fingerprint(db) == before
    assert preview["allowed"] and preview["refusals"] == []

    last = max(e["sequence"] for e in await events(staff, order["id"]))
    answer = await amend(staff, current, **changes)
    committed = [e for e in await events(staff, order["id"]) if e["sequence"] > last]
    effects = preview["effects"]
    assert effects["addedItems"] == ["NEW"]
    assert effects["modifiedItems"] == sorted(str(e["entityId"]) for e in committed if e["type"] == "itemModified")
    assert effects["removedItems"] == [item(current, "J")["id"]]
    assert effects["rescheduledActivities"] == [act["id"]]
    assert effects["revisedPartyOrders"] == [po["id"]]
    assert effects["rescheduledActivities"] == [str(e["entityId"]) for e in committed if e["type"] == "activityRescheduled"]
    assert effects["revisedPartyOrders"] == [str(e["partyOrderId"]) for e in committed if e["type"] == "partyOrderRevised"]
    assert (preview["revision"], preview["expectedCompletion"], preview["jeopardyLevel"]) == (
        answer["revision"],
        answer["expectedCompletion"],
        answer["jeopardyLevel"],
    )


async def test_the_preview_of_a_refused_amendment_names_the_point_of_no_return(
    staff: Api, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    order = await create_order(staff, now)
    ip = item(await tree(staff, order["id"]), "IP-BLOCK")
    act = await schedule(staff, order["id"], now, itemId=ip["id"], plannedStart=iso(now - timedelta(hours=2)))
    await progress(staff, act["id"], "IN_PROGRESS")
    await progress(staff, act["id"], "COMPLETED")
    before = await fingerprint(db)
    preview = (await staff.ok(PREVIEW, {"id": order["id"], "input": {"remove": [{"itemId": ip["id"], "reason": "x"}]}}))[
        "amendmentPreview"
    ]
    assert not preview["allowed"]
    assert preview["refusals"] == [
        {"itemId": ip["id"], "reason": f"the item is completed; its activity {act['id']} is completed"}
    ]
    assert await fingerprint(db) == before


async def test_partners_cannot_amend_and_see_only_their_own_party_orders_revisions(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    a, b = await create_party(staff), await create_party(staff)
    partner_a, partner_b = await partner_api(http, db, clock, a["id"]), await partner_api(http, db, clock, b["id"])
    order = await order_with_party_items(staff, now, a["id"])
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner_a, po["id"], now)
    current = await tree(staff, order["id"])
    changes = {"modify": [{"itemId": current["allItems"][0]["id"], "quantity": 3}]}
    assert await partner_a.code(AMEND, {"id": order["id"], "version": current["version"], "input": changes}) == "FORBIDDEN"
    assert await partner_a.code(PREVIEW, {"id": order["id"], "input": changes}) == "FORBIDDEN"
    await amend(staff, current, **changes)
    assert (await partner_b.ok(REVISIONS, {"id": po["id"]}))["partyOrder"] is None
    assert await partner_b.code(ACK_REVISION, {"id": po["id"], "revision": 1, "key": key()}) == "NOT_FOUND"
    timeline = await partner_a.ok("query($id: ID!) { partyOrder(id: $id) { revisions { revision state } } }", {"id": po["id"]})
    assert timeline["partyOrder"]["revisions"] == [{"revision": 1, "state": "open"}]


async def test_amendments_racing_the_partners_progress_reports_lose_nothing(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await order_with_party_items(staff, now, party["id"])
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], now)
    line_id = (await tree(staff, order["id"]))["allItems"][0]["id"]
    for n in range(1, 4):
        current = await tree(staff, order["id"])
        amended, reported = await asyncio.gather(
            staff.send(
                AMEND,
                {"id": order["id"], "version": current["version"], "input": {"modify": [{"itemId": line_id, "quantity": 2 + n}]}},
            ),
            partner.send(REPORT, {"id": po["id"], "key": key(), "input": {"percentComplete": 10 * n, "note": f"report {n}"}}),
        )
        assert not amended.get("errors") and not reported.get("errors"), (amended, reported)
    after = await tree(staff, order["id"])
    assert (after["revision"], item(after, "DARK-FIBRE-1")["quantity"]) == (3, 5)
    seen = (await staff.ok(GET_PO, {"id": po["id"]}))["partyOrder"]
    assert seen["percentComplete"] == 30 and [r["note"] for r in seen["progressReports"]] == ["report 1", "report 2", "report 3"]
    assert [r["revision"] for r in (await staff.ok(REVISIONS, {"id": po["id"]}))["partyOrder"]["revisions"]] == [1, 2, 3]


async def test_the_partner_is_told_of_its_revision_and_nothing_else_of_the_amendment(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    """What every channel (subscriptions, replays, webhooks) shows a partner of an amendment's events."""
    from sqlalchemy import select

    from app.event_visibility import PARTNER, Viewer, visible_event
    from app.events import Event

    now = clock.now()
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await create_order(
        staff, now, items=[{"productRef": "P", "fulfillment": "PARTY", "partyId": party["id"]}, {"productRef": "I"}]
    )
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], now)
    current = await tree(staff, order["id"])
    await amend(
        staff,
        current,
        modify=[{"itemId": item(current, "P")["id"], "quantity": 4}, {"itemId": item(current, "I")["id"], "quantity": 2}],
    )
    async with db.read() as session:
        logged = list(
            (
                await session.execute(select(Event).where(col(Event.order_id) == int(order["id"])).order_by(col(Event.seq)))
            ).scalars()
        )
    amendment = [e for e in logged if (e.data.get("revision") or e.data.get("order_revision")) == 1 or e.type == "orderAmended"]
    shown = [v for e in amendment if (v := visible_event(e, Viewer(PARTNER, int(party["id"])))) is not None]
    assert {e.type for e in amendment} >= {"orderAmended", "itemModified", "partyOrderRevised"}
    assert [(v.type, v.order_id) for v in shown] == [("partyOrderRevised", None)]
    assert shown[0].data["after"]["revision"] == 1 and "order_revision" not in shown[0].data
    assert [line["quantity"] for line in shown[0].data["after"]["lines"]] == [4]
    assert visible_event(amendment[0], Viewer(PARTNER, int(party["id"]) + 1)) is None


async def test_an_amendment_racing_a_jeopardy_sweep_loses_nothing(
    staff: Api, db: Database, clock: FrozenClock, escalation_policy: Policy
) -> None:
    from app.jeopardy.monitor import Monitor
    from app.jeopardy.sweep import dry_run

    now = clock.now()
    order = await create_order(staff, now, committedDate=iso(now + timedelta(days=3)))
    fibre = item(await tree(staff, order["id"]), "FIBRE-1G")
    act = await schedule(staff, order["id"], now, days=(0, 2), itemId=fibre["id"], plannedStart=iso(now - timedelta(hours=1)))
    await progress(staff, act["id"], "IN_PROGRESS")
    clock.advance(timedelta(days=1, hours=12))  # the install now ends past the committed date once re-planned
    current = await tree(staff, order["id"])
    amended, swept = await asyncio.gather(
        staff.send(
            AMEND,
            {"id": order["id"], "version": current["version"], "input": {"modify": [{"itemId": fibre["id"], "quantity": 2}]}},
        ),
        Monitor(db, clock, policy=escalation_policy).sweep(),
    )
    assert not amended.get("errors"), amended
    assert swept.led
    after = await tree(staff, order["id"])
    assert (after["revision"], item(after, "FIBRE-1G")["quantity"]) == (1, 2)
    assert after["expectedCompletion"] == iso(clock.now() + timedelta(days=2, hours=1))
    assert after["jeopardyLevel"] in ("JEOPARDY", "LATE")  # re-planned past the committed date
    leftover = await dry_run(db, clock.now(), escalation_policy)
    assert (leftover.level_changes, leftover.escalations, leftover.deescalations) == (0, 0, 0)  # nothing the sweep still owes
