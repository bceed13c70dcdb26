"""The forecast as the API shows it: a new order's plan is its forecast until closed work teaches otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api import Api
from tests.conftest import START
from tests.factories import create_order, schedule

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
