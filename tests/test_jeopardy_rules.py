"""The monitor notices orders and activities that will miss, or have missed, their dates."""

from __future__ import annotations

from datetime import timedelta

from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import create_order, get_order, iso, progress, schedule
from tests.jeopardy_support import alerts, levels, monitor

RESCHEDULE = """mutation($id: ID!, $start: DateTime, $end: DateTime) {
  rescheduleActivity(id: $id, plannedStart: $start, plannedEnd: $end) { id version }
}"""
ORDER = "query($id: ID!) { customerOrder(id: $id) { jeopardyLevel jeopardyReason jeopardySince escalationLevel expectedCompletion activities { id jeopardyLevel jeopardyReason } } }"


async def test_an_order_past_its_committed_date_becomes_late(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=10)))
    mon = monitor(db, clock)
    await mon.sweep()
    assert await alerts(db, order["id"]) == []
    clock.advance(timedelta(days=10, minutes=1))
    await mon.sweep()
    got = (await staff.ok(ORDER, {"id": order["id"]}))["customerOrder"]
    assert got["jeopardyLevel"] == "LATE"
    assert "committed date has passed" in got["jeopardyReason"]
    assert levels(await alerts(db, order["id"])) == ["late"]
