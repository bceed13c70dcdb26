"""Party orders in jeopardy: late for their customer order, slipping, a milestone overdue, a silent party."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import iso
from tests.jeopardy_support import alerts, levels, monitor
from tests.party import REPORT, acknowledge, create_party, get_po, key, order_with_party_items, partner_api, requisition

PO = "query($id: ID!) { partyOrder(id: $id) { jeopardyLevel jeopardyReason } }"
ORDER = "query($id: ID!) { customerOrder(id: $id) { jeopardyLevel expectedCompletion } }"


async def party_order(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock, hours: int = 48, needed_days: int = 20
) -> tuple[dict, dict, Api]:
    party = await create_party(staff, hours=hours)
    order = await order_with_party_items(staff, clock.now(), party["id"], days=30)
    (po,) = await requisition(staff, order["id"], neededBy=iso(clock.now() + timedelta(days=needed_days)))
    return order, po, await partner_api(http, db, clock, party["id"])


async def level_of(api: Api, po_id: str) -> tuple[str, str | None]:
    got = (await api.ok(PO, {"id": po_id}))["partyOrder"]
    return got["jeopardyLevel"], got["jeopardyReason"]


async def test_a_party_expecting_to_deliver_after_the_needed_date_puts_its_order_in_jeopardy_at_once(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    order, po, partner = await party_order(staff, http, db, clock)
    await acknowledge(partner, po["id"], clock.now(), days=15)
    assert (await level_of(staff, po["id"]))[0] == "NONE"
    later = iso(clock.now() + timedelta(days=25))
    await partner.ok(REPORT, {"id": po["id"], "key": key(), "input": {"expectedDeliveryDate": later, "note": "duct blocked"}})
    level, reason = await level_of(staff, po["id"])  # no sweep ran
    assert level == "JEOPARDY" and reason is not None and "needs it by" in reason
    party_events = [e for e in await alerts(db, order["id"]) if e.entity == "partyOrder"]
    assert [(e.type, e.party_order_id, e.party_id) for e in party_events] == [
        ("jeopardyChanged", int(po["id"]), int(po["partyId"]))
    ]


async def test_a_party_order_past_its_needed_date_is_late(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    order, po, partner = await party_order(staff, http, db, clock, hours=24 * 30, needed_days=5)
    await acknowledge(partner, po["id"], clock.now(), days=4)
    clock.advance(timedelta(days=5, minutes=1))
    await monitor(db, clock).sweep()
    assert (await level_of(staff, po["id"]))[0] == "LATE"
    assert levels(await alerts(db, order["id"]), "partyOrder") == ["late"]


async def test_an_overdue_milestone_puts_a_party_order_in_jeopardy(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    order, po, partner = await party_order(staff, http, db, clock, hours=24 * 30)
    acked = await acknowledge(
        partner,
        po["id"],
        clock.now(),
        days=15,
        milestones=[{"name": "wayleave", "plannedDate": iso(clock.now() + timedelta(days=3))}],
    )
    mon = monitor(db, clock)
    clock.advance(timedelta(days=2))
    await mon.sweep()
    assert (await level_of(staff, po["id"]))[0] == "NONE"
    clock.advance(timedelta(days=1, minutes=1))
    await mon.sweep()
    assert await level_of(staff, po["id"]) == ("JEOPARDY", "A milestone is overdue.")
    # the party reports the milestone reached: the next sweep sees the recovery
    await partner.ok(REPORT, {"id": po["id"], "key": key(), "input": {"milestoneId": acked["milestones"][0]["id"]}})
    await mon.sweep()
    assert (await level_of(staff, po["id"]))[0] == "NONE"
    assert levels(await alerts(db, order["id"]), "partyOrder") == ["jeopardy", "none"]


async def test_a_party_silent_for_longer_than_its_reporting_interval_puts_its_order_at_risk(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    order, po, partner = await party_order(staff, http, db, clock, hours=48)
    _, silent_po, _ = await party_order(staff, http, db, clock, hours=48)  # never even acknowledges
    await acknowledge(partner, po["id"], clock.now(), days=15)
    mon = monitor(db, clock)
    clock.advance(timedelta(hours=47))
    await mon.sweep()
    assert (await level_of(staff, po["id"]))[0] == "NONE" and (await level_of(staff, silent_po["id"]))[0] == "NONE"
    clock.advance(timedelta(hours=2))
    await mon.sweep()
    assert await level_of(staff, po["id"]) == ("AT_RISK", "No progress report within the party's reporting interval.")
    assert (await level_of(staff, silent_po["id"]))[0] == "AT_RISK"
    await partner.ok(REPORT, {"id": po["id"], "key": key(), "input": {"percentComplete": 40}})
    await mon.sweep()
    assert (await level_of(staff, po["id"]))[0] == "NONE"
    assert levels(await alerts(db, order["id"]), "partyOrder") == ["atRisk", "none"]
    seen = await get_po(staff, po["id"])
    assert seen is not None and seen["lastReportAt"] == iso(clock.now())
