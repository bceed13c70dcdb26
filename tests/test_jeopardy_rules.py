"""The monitor notices orders and activities that will miss, or have missed, their dates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import create_order, iso, progress, schedule
from tests.jeopardy_support import alerts, levels, monitor

RESCHEDULE = """mutation($id: ID!, $start: DateTime, $end: DateTime) {
  rescheduleActivity(id: $id, plannedStart: $start, plannedEnd: $end) { id version jeopardyLevel }
}"""
ORDER = """query($id: ID!) { customerOrder(id: $id) {
  state jeopardyLevel jeopardyReason jeopardySince escalationLevel expectedCompletion
  activities { id jeopardyLevel jeopardyReason } } }"""
CANCEL = "mutation($id: ID!, $reason: String!) { cancelCustomerOrder(id: $id, reason: $reason) { state } }"


async def read(api: Api, order_id: str) -> dict[str, Any]:
    return (await api.ok(ORDER, {"id": order_id}))["customerOrder"]


def activity(order: dict[str, Any], activity_id: str) -> dict[str, Any]:
    return next(a for a in order["activities"] if a["id"] == activity_id)


async def test_an_order_past_its_committed_date_becomes_late(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=10)))
    mon = monitor(db, clock)
    await mon.sweep()
    assert await alerts(db, order["id"]) == []
    clock.advance(timedelta(days=10, minutes=1))
    await mon.sweep()
    got = await read(staff, order["id"])
    assert got["jeopardyLevel"] == "LATE"
    assert "committed date has passed" in got["jeopardyReason"]
    assert got["jeopardySince"] is not None
    assert levels(await alerts(db, order["id"])) == ["late"]


async def test_an_order_with_little_time_left_is_at_risk(staff: Api, db: Database, clock: FrozenClock) -> None:
    # 10 days from request to committed date; the shipped threshold is 20%, so at risk from day 8.
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=10)))
    mon = monitor(db, clock)
    clock.advance(timedelta(days=7, hours=23))
    await mon.sweep()
    assert (await read(staff, order["id"]))["jeopardyLevel"] == "NONE"
    clock.advance(timedelta(hours=2))
    await mon.sweep()
    got = await read(staff, order["id"])
    assert got["jeopardyLevel"] == "AT_RISK"
    assert "20%" in got["jeopardyReason"]
    clock.advance(timedelta(days=3))
    await mon.sweep()
    assert levels(await alerts(db, order["id"])) == ["atRisk", "late"]


async def test_open_work_finishing_close_to_the_committed_date_puts_the_order_at_risk(
    staff: Api, db: Database, clock: FrozenClock
) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=10)))
    await schedule(staff, order["id"], clock.now(), days=(1, 9))  # one day of slack: less than 20% of ten
    got = await read(staff, order["id"])
    assert got["jeopardyLevel"] == "AT_RISK"
    await monitor(db, clock).sweep()
    assert levels(await alerts(db, order["id"])) == ["atRisk"]


async def test_expected_completion_after_the_committed_date_is_jeopardy(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=10)))
    act = await schedule(staff, order["id"], clock.now(), days=(1, 3))
    await progress(staff, act["id"], "IN_PROGRESS")
    await progress(staff, act["id"], "IN_PROGRESS", expectedEnd=iso(clock.now() + timedelta(days=12)))
    got = await read(staff, order["id"])
    assert got["jeopardyLevel"] == "JEOPARDY"
    assert got["jeopardyReason"] == "The expected completion is after the committed date."
    assert activity(got, act["id"])["jeopardyLevel"] == "JEOPARDY"
    assert "expected end is after its planned end" in activity(got, act["id"])["jeopardyReason"]


async def test_a_mutation_that_slips_an_activity_shows_jeopardy_at_once(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=30)))
    act = await schedule(staff, order["id"], clock.now(), days=(1, 5))
    assert (await read(staff, order["id"]))["jeopardyLevel"] == "NONE"
    await staff.ok(RESCHEDULE, {"id": act["id"], "end": iso(clock.now() + timedelta(days=31))})
    got = await read(staff, order["id"])  # no sweep ran
    assert got["jeopardyLevel"] == "JEOPARDY"
    assert got["expectedCompletion"].startswith((clock.now() + timedelta(days=31)).date().isoformat())
    events = await alerts(db, order["id"], prefix=("activityRescheduled", "expectedCompletionChanged", "jeopardy"))
    events = events[[e.type for e in events].index("activityRescheduled") :]
    assert [e.type for e in events] == ["activityRescheduled", "expectedCompletionChanged", "jeopardyChanged"]
    assert events[-1].seq == events[0].seq + 2, "the level change commits in the same transaction as the slip"
    # moving it back recovers at once as well
    await staff.ok(RESCHEDULE, {"id": act["id"], "end": iso(clock.now() + timedelta(days=5))})
    assert (await read(staff, order["id"]))["jeopardyLevel"] == "NONE"
    assert levels(await alerts(db, order["id"])) == ["jeopardy", "none"]


async def test_an_activity_past_its_planned_end_is_late(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=60)))
    act = await schedule(staff, order["id"], clock.now(), days=(1, 3))
    done = await schedule(staff, order["id"], clock.now(), days=(0, 1), kind="survey")
    await progress(staff, done["id"], "IN_PROGRESS")
    clock.advance(timedelta(hours=12))
    await progress(staff, done["id"], "COMPLETED")
    mon = monitor(db, clock)
    clock.advance(timedelta(days=3, minutes=1))
    await mon.sweep()
    got = await read(staff, order["id"])
    assert activity(got, act["id"])["jeopardyLevel"] == "LATE"
    assert "planned end has passed" in activity(got, act["id"])["jeopardyReason"]
    assert activity(got, done["id"])["jeopardyLevel"] == "NONE", "completed work is never late"
    events = await alerts(db, order["id"])
    assert [(e.entity, e.entity_id) for e in events if e.type == "jeopardyChanged"] == [("activity", int(act["id"]))]


async def test_an_activity_whose_predecessor_slipped_cannot_start(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=60)))
    first = await schedule(staff, order["id"], clock.now(), days=(1, 3), kind="dig")
    second = await schedule(staff, order["id"], clock.now(), days=(3, 5), kind="splice", predecessorIds=[first["id"]])
    await progress(staff, first["id"], "IN_PROGRESS")
    await progress(staff, first["id"], "IN_PROGRESS", expectedEnd=iso(clock.now() + timedelta(days=4)))
    await monitor(db, clock).sweep()
    got = await read(staff, order["id"])
    assert activity(got, second["id"])["jeopardyLevel"] == "JEOPARDY"
    assert "predecessor" in activity(got, second["id"])["jeopardyReason"]
    # the predecessor finishes: the successor can start, and recovers on the next sweep
    clock.advance(timedelta(days=1))
    await progress(staff, first["id"], "COMPLETED")
    await monitor(db, clock).sweep()
    got = await read(staff, order["id"])
    assert activity(got, second["id"])["jeopardyLevel"] == "NONE"
    assert levels(await alerts(db, order["id"]), "activity").count("jeopardy") == 2  # first (own slip) and second


async def test_a_predecessor_not_done_when_the_successor_should_start_is_jeopardy(
    staff: Api, db: Database, clock: FrozenClock
) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=60)))
    first = await schedule(staff, order["id"], clock.now(), days=(1, 3), kind="dig")
    second = await schedule(staff, order["id"], clock.now(), days=(3, 5), kind="splice", predecessorIds=[first["id"]])
    clock.advance(timedelta(days=3, hours=1))
    await monitor(db, clock).sweep()
    got = await read(staff, order["id"])
    assert activity(got, first["id"])["jeopardyLevel"] == "LATE"
    assert activity(got, second["id"])["jeopardyLevel"] == "JEOPARDY"


async def test_a_closed_order_leaves_jeopardy(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=2)))
    clock.advance(timedelta(days=3))
    mon = monitor(db, clock)
    await mon.sweep()
    assert (await read(staff, order["id"]))["jeopardyLevel"] == "LATE"
    await staff.ok(CANCEL, {"id": order["id"], "reason": "the customer withdrew"})
    await mon.sweep()
    got = await read(staff, order["id"])
    assert (got["state"], got["jeopardyLevel"], got["jeopardyReason"]) == ("CANCELLED", "NONE", None)
    assert levels(await alerts(db, order["id"])) == ["late", "none"]


async def test_a_repeated_sweep_changes_nothing(staff: Api, db: Database, clock: FrozenClock) -> None:
    for days in (2, 5, 40):
        await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=days)))
    clock.advance(timedelta(days=4, hours=12))
    mon = monitor(db, clock)
    first = await mon.sweep()
    assert first.outcome is not None and first.outcome.level_changes == 2  # one late, one at risk
    again = await mon.sweep()
    assert again.led and again.outcome is not None and again.outcome.level_changes == 0
    assert len(await alerts(db)) == 2


async def test_bringing_the_committed_date_forward_shows_jeopardy_at_once(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=30)))
    await schedule(staff, order["id"], clock.now(), days=(1, 10))
    update = "mutation($id: ID!, $v: Int!, $d: DateTime) { updateCustomerOrder(id: $id, version: $v, input: {committedDate: $d}) { jeopardyLevel jeopardyReason } }"
    got = (await staff.ok(update, {"id": order["id"], "v": 1, "d": iso(clock.now() + timedelta(days=8))}))["updateCustomerOrder"]
    assert got["jeopardyLevel"] == "JEOPARDY"
    assert levels(await alerts(db, order["id"])) == ["jeopardy"]
