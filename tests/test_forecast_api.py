"""The forecast as the API shows it: a new order's plan is its forecast until closed work teaches otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import FrozenClock
from app.db import Database
from app.jeopardy.policy import parse_policy
from tests.api import Api
from tests.conftest import START, RestartUnder
from tests.factories import create_order, schedule
from tests.party import REPORT, acknowledge, create_party, key, order_with_party_items, partner_api, requisition

FORECAST = """query($id: ID!) { customerOrder(id: $id) { expectedCompletion committedDate
  forecast { completionP50 completionP90 onTimeProbability basis criticalPath { kind id name } } } }"""


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_a_scheduled_order_without_history_is_forecast_to_finish_as_planned(staff: Api) -> None:
    order = await create_order(staff, START)
    survey = await schedule(staff, order["id"], START, kind="survey", days=(1, 2))
    install = await schedule(staff, order["id"], START, kind="install", days=(2, 4), predecessorIds=[survey["id"]])
    found = (await staff.ok(FORECAST, {"id": order["id"]}))["customerOrder"]
    forecast = found["forecast"]
    assert forecast["completionP50"] == forecast["completionP90"] == found["expectedCompletion"]
    assert forecast["onTimeProbability"] == 1.0
    assert forecast["basis"].startswith("plan:")
    assert [w["id"] for w in forecast["criticalPath"]] == [survey["id"], install["id"]]
    assert (START + timedelta(days=4)).isoformat().startswith(found["expectedCompletion"][:19])


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_a_partys_next_report_is_due_in_its_business_hours(
    staff: Api, db: Database, clock: FrozenClock, restart_under: RestartUnder
) -> None:
    office = {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00"}
    client = await restart_under(parse_policy({"calendars": {"parties": {"Office Hours Ltd": office}}}))
    staff = Api(client, staff.token)
    party = await create_party(staff, name="Office Hours Ltd", hours=16)
    order = await order_with_party_items(staff, START, party["id"])
    [po] = await requisition(staff, order["id"])
    partner = await partner_api(client, db, clock, party["id"])
    acknowledged = await acknowledge(partner, po["id"], START)  # Monday 09:00
    assert acknowledged["nextReportDue"].startswith("2027-03-02T17:00:00")  # two working days, not Tuesday 01:00
    clock.advance(timedelta(hours=5))
    reported = (await partner.ok(REPORT, {"id": po["id"], "key": key(), "input": {"percentComplete": 10}}))[
        "reportPartyOrderProgress"
    ]
    assert reported["nextReportDue"].startswith("2027-03-03T14:00:00")  # Monday 14:00 + 3h Monday + 8h Tuesday + 5h Wednesday
