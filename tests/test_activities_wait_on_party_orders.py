"""An install waits on the supplier's equipment: activities that wait on party orders of their customer order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.clock import FrozenClock
from app.consistency import reconciler
from app.db import Database
from app.demo import load_demo
from app.jeopardy.policy import Policy, load_policy, parse_policy
from app.orders.models import Activity, ActivityPartyDependency, CustomerOrder
from app.party_orders.demo import PARTIES
from tests.api import Api
from tests.conftest import START
from tests.factories import iso, progress, schedule
from tests.fingerprint import fingerprint
from tests.jeopardy_support import monitor
from tests.party import (
    CANCEL_PO,
    COMPLETE,
    REPORT,
    acknowledge,
    create_party,
    key,
    order_with_party_items,
    partner_api,
    requisition,
)
from tests.test_forecast_learning import closed_history

ACTIVITY = """query($id: ID!) { customerOrder(id: $id) { expectedCompletion
  activities { id kind waitsOnPartyOrderIds jeopardyLevel jeopardyReason } } }"""
RESCHEDULE = """mutation($id: ID!, $waits: [ID!]) {
  rescheduleActivity(id: $id, waitsOnPartyOrderIds: $waits) { id waitsOnPartyOrderIds version } }"""
TIMELINE = """query($id: ID!) { orderTimeline(orderId: $id, first: 100) { edges { node { type summary after before } } } }"""
REASON = "It cannot start as planned: a party order it waits on is expected to deliver after its planned start."


async def fibreco_order(staff: Api, days: int = 30) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A customer order with one item FibreCo delivers: the party, the order and its party order."""
    party = await create_party(staff, name="FibreCo")
    order = await order_with_party_items(staff, START, party["id"], days=days)
    [po] = await requisition(staff, order["id"])
    return party, order, po


async def the_activity(staff: Api, order_id: str, activity_id: str) -> tuple[str | None, dict[str, Any]]:
    found = (await staff.ok(ACTIVITY, {"id": order_id}))["customerOrder"]
    [activity] = [a for a in found["activities"] if a["id"] == activity_id]
    return found["expectedCompletion"], activity


async def test_an_install_that_waits_on_fibrecos_delivery_cannot_start_before_it_arrives(
    staff: Api, db: Database, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    party, order, po = await fibreco_order(staff)
    install = await schedule(staff, order["id"], START, days=(25, 26), kind="install", waitsOnPartyOrderIds=[po["id"]])
    assert (await the_activity(staff, order["id"], install["id"]))[1]["waitsOnPartyOrderIds"] == [po["id"]]
    fibreco = await partner_api(http, db, clock, party["id"])
    await acknowledge(fibreco, po["id"], START, days=20)

    before = await fingerprint(db)
    error = await staff.error(
        "mutation($id: ID!) { recordActivityProgress(id: $id, input: {state: IN_PROGRESS}) { id } }", {"id": install["id"]}
    )
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert error["extensions"]["waiting_for_party_orders"] == [po["id"]]
    assert await fingerprint(db) == before

    await fibreco.ok(COMPLETE, {"id": po["id"], "key": key(), "deliveredAt": iso(clock.now())})
    started = await progress(staff, install["id"], "IN_PROGRESS", percentComplete=10)
    assert started["state"] == "IN_PROGRESS"
    said = [e["node"]["summary"] for e in (await staff.ok(TIMELINE, {"id": order["id"]}))["orderTimeline"]["edges"]]
    assert f"Install activity scheduled from 26 Mar to 27 Mar, waiting on party order {po['id']}" in said


async def test_a_cancelled_party_order_no_longer_holds_the_install(staff: Api, clock: FrozenClock) -> None:
    _, order, po = await fibreco_order(staff)
    install = await schedule(staff, order["id"], START, days=(2, 3), kind="install", waitsOnPartyOrderIds=[po["id"]])
    await staff.ok(CANCEL_PO, {"id": po["id"], "reason": "ordered from another supplier"})
    started = await progress(staff, install["id"], "IN_PROGRESS")
    assert started["state"] == "IN_PROGRESS"


async def test_an_activity_waits_only_on_party_orders_of_its_own_order(staff: Api, db: Database, clock: FrozenClock) -> None:
    party, order, po = await fibreco_order(staff)
    other = await order_with_party_items(staff, START, party["id"])
    [foreign] = await requisition(staff, other["id"])
    install = await schedule(staff, order["id"], START, kind="install")
    before = await fingerprint(db)
    for waits in ([foreign["id"]], ["999999"], [po["id"], "999999"]):
        error = await staff.error(RESCHEDULE, {"id": install["id"], "waits": waits})
        assert (error["extensions"]["code"], error["extensions"]["field"]) == ("INVALID_INPUT", "waitsOnPartyOrderIds")
        error = await staff.error(
            "mutation($o: ID!, $input: ScheduleActivityInput!) { scheduleActivity(orderId: $o, input: $input) { id } }",
            {
                "o": order["id"],
                "input": {
                    "kind": "install",
                    "plannedStart": iso(START),
                    "plannedEnd": iso(START + timedelta(days=1)),
                    "waitsOnPartyOrderIds": waits,
                },
            },
        )
        assert (error["extensions"]["code"], error["extensions"]["field"]) == ("INVALID_INPUT", "waitsOnPartyOrderIds")
    too_many = [str(n) for n in range(1, 52)]
    error = await staff.error(RESCHEDULE, {"id": install["id"], "waits": too_many})
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("INVALID_INPUT", "waitsOnPartyOrderIds")
    assert await fingerprint(db) == before

    waited = (await staff.ok(RESCHEDULE, {"id": install["id"], "waits": [po["id"]]}))["rescheduleActivity"]
    assert waited["waitsOnPartyOrderIds"] == [po["id"]]
    [event] = [
        e["node"]
        for e in (await staff.ok(TIMELINE, {"id": order["id"]}))["orderTimeline"]["edges"]
        if e["node"]["type"] == "activityRescheduled"
    ]
    assert (event["before"], event["after"]) == ({"waits_on_party_order_ids": []}, {"waits_on_party_order_ids": [int(po["id"])]})


async def test_fibreco_moving_its_delivery_past_the_installs_planned_start_puts_the_install_at_risk_and_moves_the_orders_expected_completion(
    staff: Api, db: Database, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    party, order, po = await fibreco_order(staff, days=40)
    fibreco = await partner_api(http, db, clock, party["id"])
    await acknowledge(fibreco, po["id"], START, days=10)
    install = await schedule(staff, order["id"], START, days=(12, 14), kind="install", waitsOnPartyOrderIds=[po["id"]])
    expected, seen = await the_activity(staff, order["id"], install["id"])
    assert expected is not None and expected.startswith(iso(START + timedelta(days=14))[:19])
    assert seen["jeopardyLevel"] == "NONE"

    # FibreCo now expects to deliver on day 15: the install (two days) can start only then.
    await fibreco.ok(
        REPORT,
        {"id": po["id"], "key": key(), "input": {"percentComplete": 50, "expectedDeliveryDate": iso(START + timedelta(days=15))}},
    )
    expected, seen = await the_activity(staff, order["id"], install["id"])
    assert (seen["jeopardyLevel"], seen["jeopardyReason"]) == ("JEOPARDY", REASON)
    assert expected is not None and expected.startswith(iso(START + timedelta(days=17))[:19])

    # FibreCo brings it back before the planned start: the install is out of jeopardy, the date back.
    await fibreco.ok(
        REPORT,
        {"id": po["id"], "key": key(), "input": {"percentComplete": 60, "expectedDeliveryDate": iso(START + timedelta(days=11))}},
    )
    expected, seen = await the_activity(staff, order["id"], install["id"])
    assert seen["jeopardyLevel"] == "NONE"
    assert expected is not None and expected.startswith(iso(START + timedelta(days=14))[:19])


async def test_an_install_whose_planned_start_comes_before_fibreco_delivered_is_in_jeopardy_after_the_sweep(
    staff: Api, db: Database, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    party, order, po = await fibreco_order(staff, days=40)
    fibreco = await partner_api(http, db, clock, party["id"])
    await acknowledge(fibreco, po["id"], START, days=5)
    install = await schedule(staff, order["id"], START, days=(5, 7), kind="install", waitsOnPartyOrderIds=[po["id"]])
    assert (await the_activity(staff, order["id"], install["id"]))[1]["jeopardyLevel"] == "NONE"
    clock.advance(timedelta(days=5, hours=1))  # the planned start came; FibreCo has not delivered
    await monitor(db, clock).sweep()
    assert (await the_activity(staff, order["id"], install["id"]))[1]["jeopardyReason"] == REASON
    await fibreco.ok(COMPLETE, {"id": po["id"], "key": key(), "deliveredAt": iso(clock.now())})
    assert (await the_activity(staff, order["id"], install["id"]))[1]["jeopardyLevel"] == "NONE"


@pytest.fixture
def escalation_policy() -> Policy:
    """The probability rule in force, so the order's reason is the forecast's sentence; no slack rule."""
    return parse_policy({"at_risk_slack": 0.0, "at_risk_probability": 0.95})


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_the_forecasts_reason_says_install_waits_on_fibrecos_delivery(
    staff: Api, db: Database, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    party = await create_party(staff, name="FibreCo")
    # FibreCo delivers late 4 times in 10, by about two days; the past work was surveys, so installs have no history.
    await closed_history(db, int(party["id"]), cases=30, late_share=0.4, mean_slip_hours=48, kind="survey", seed=3)
    order = await order_with_party_items(staff, START, party["id"], days=24)
    [po] = await requisition(staff, order["id"])
    fibreco = await partner_api(http, db, clock, party["id"])
    await acknowledge(fibreco, po["id"], START, days=20)
    await schedule(staff, order["id"], START, days=(15, 17), kind="install", waitsOnPartyOrderIds=[po["id"]])

    found = (
        await staff.ok(
            """query($id: ID!) { customerOrder(id: $id) { jeopardyLevel jeopardyReason
              forecast { onTimeProbability criticalPath { kind name } }
              partyOrders { party { deliveryStats { onTimeRate } } } } }""",
            {"id": order["id"]},
        )
    )["customerOrder"]
    forecast = found["forecast"]
    assert forecast["criticalPath"] == [
        {"kind": "partyOrder", "name": "FibreCo's delivery"},
        {"kind": "activity", "name": "install"},
    ]
    late = round((1 - found["partyOrders"][0]["party"]["deliveryStats"]["onTimeRate"]) * 100)
    assert found["jeopardyLevel"] == "AT_RISK"
    assert found["jeopardyReason"] == (
        f"The forecast gives it a {round(forecast['onTimeProbability'] * 100)}% chance of meeting the committed date: "
        f"install waits on FibreCo's delivery, which is late {late}% of the time."
    )


async def test_the_demos_installs_wait_on_their_suppliers_delivery_and_its_forecasts_say_so(
    db: Database, clock: FrozenClock, app: object
) -> None:
    """``app``: its factory wires the reconciliation into ``db``."""
    # The history through a Database of its own, as the command line does (see load_demo).
    history_db = Database(db.url, schema=db.schema)
    history_db.reconcile = reconciler(load_policy())
    try:
        ids = await load_demo(db, clock, count=6, history=15, history_db=history_db)
    finally:
        await history_db.dispose()
    async with db.read() as session:
        waiting = (
            await session.execute(
                select(col(ActivityPartyDependency.activity_id))
                .join(Activity, col(Activity.id) == col(ActivityPartyDependency.activity_id))
                .where(col(Activity.order_id).in_(ids))
            )
        ).all()
        summaries = (
            await session.execute(select(col(CustomerOrder.forecast_summary)).where(col(CustomerOrder.id).in_(ids)))
        ).scalars()
        said = [s for s in summaries if s]
    assert len(waiting) == 2  # the orders with an access circuit: their installs wait on its delivery
    assert sum(f"install waits on {PARTIES[0][0]}'s delivery, which is late 60% of the time" in s for s in said) == 2, said
