"""Staff schedule, assign and coordinate provisioning activities; dependencies decide what may start."""

from __future__ import annotations

from datetime import timedelta

from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import PROGRESS, SCHEDULE, create_order, get_order, progress, schedule
from tests.fingerprint import fingerprint

RESCHEDULE = """mutation($id: ID!, $version: Int, $start: DateTime, $end: DateTime, $preds: [ID!]) {
  rescheduleActivity(id: $id, version: $version, plannedStart: $start, plannedEnd: $end, predecessorIds: $preds) {
    id plannedStart plannedEnd predecessorIds version }
}"""
ASSIGN = """mutation($id: ID!, $group: String, $who: String, $version: Int) {
  assignActivity(id: $id, workGroup: $group, assignee: $who, version: $version) { id workGroup assignee version }
}"""


async def test_staff_schedule_and_assign_activities_for_an_item(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    item = order["items"][0]["id"]
    activity = await schedule(staff, order["id"], clock.now(), itemId=item, workGroup="field-north", assignee="kim")
    assert (activity["state"], activity["itemId"], activity["version"]) == ("PLANNED", item, 1)
    assigned = (await staff.ok(ASSIGN, {"id": activity["id"], "group": "field-south", "who": "lee", "version": 1}))[
        "assignActivity"
    ]
    assert (assigned["workGroup"], assigned["assignee"], assigned["version"]) == ("field-south", "lee", 2)
    tree = await get_order(staff, order["id"])
    assert [a["id"] for a in tree["items"][0]["activities"]] == [activity["id"]]


async def test_an_activity_cannot_start_before_its_predecessors_are_done(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    survey = await schedule(staff, order["id"], clock.now(), kind="survey")
    install = await schedule(staff, order["id"], clock.now(), days=(3, 5), kind="install", predecessorIds=[survey["id"]])
    assert install["predecessorIds"] == [survey["id"]]
    before = await fingerprint(db)
    error = await staff.error(PROGRESS, {"id": install["id"], "input": {"state": "IN_PROGRESS"}})
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert error["extensions"]["waiting_for"] == [survey["id"]]
    assert await fingerprint(db) == before
    await progress(staff, survey["id"], "IN_PROGRESS")
    await progress(staff, survey["id"], "COMPLETED")
    started = await progress(staff, install["id"], "IN_PROGRESS", percentComplete=10)
    assert started["state"] == "IN_PROGRESS" and started["actualStart"] is not None


async def test_dependencies_never_form_a_cycle(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    a = await schedule(staff, order["id"], clock.now(), kind="a")
    b = await schedule(staff, order["id"], clock.now(), kind="b", predecessorIds=[a["id"]])
    c = await schedule(staff, order["id"], clock.now(), kind="c", predecessorIds=[b["id"]])
    before = await fingerprint(db)
    assert await staff.code(RESCHEDULE, {"id": a["id"], "preds": [c["id"]]}) == "INVALID_INPUT"
    assert await staff.code(RESCHEDULE, {"id": a["id"], "preds": [a["id"]]}) == "INVALID_INPUT"
    other = await create_order(staff, clock.now())
    foreign = await schedule(staff, other["id"], clock.now())
    before = await fingerprint(db)
    assert await staff.code(RESCHEDULE, {"id": a["id"], "preds": [foreign["id"]]}) == "INVALID_INPUT"
    assert await fingerprint(db) == before


async def test_rescheduling_a_predecessor_pushes_the_expected_completion(staff: Api, clock: FrozenClock) -> None:
    now = clock.now()
    order = await create_order(staff, now)
    survey = await schedule(staff, order["id"], now, days=(1, 2), kind="survey")
    await schedule(staff, order["id"], now, days=(2, 4), kind="install", predecessorIds=[survey["id"]])
    assert (await get_order(staff, order["id"]))["expectedCompletion"].startswith((now + timedelta(days=4)).isoformat()[:19])
    slipped = (now + timedelta(days=10)).isoformat()
    moved = (await staff.ok(RESCHEDULE, {"id": survey["id"], "version": 1, "end": slipped}))["rescheduleActivity"]
    assert moved["version"] == 2
    # the install (2 days long) can only start when the survey ends: 10 + 2 days
    assert (await get_order(staff, order["id"]))["expectedCompletion"].startswith((now + timedelta(days=12)).isoformat()[:19])
    timeline = await staff.ok(
        "query($id: ID!) { orderTimeline(orderId: $id) { edges { node { type after } } } }", {"id": order["id"]}
    )
    redates = [e["node"] for e in timeline["orderTimeline"]["edges"] if e["node"]["type"] == "expectedCompletionChanged"]
    assert redates[-1]["after"]["expected_completion"].startswith((now + timedelta(days=12)).isoformat()[:19])


async def test_progress_records_percent_and_actual_dates(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    activity = await schedule(staff, order["id"], clock.now())
    started = (clock.now() - timedelta(hours=2)).isoformat()
    moved = await progress(staff, activity["id"], "IN_PROGRESS", percentComplete=30, actualStart=started)
    assert moved["percentComplete"] == 30 and moved["actualStart"].startswith(started[:19])
    done = await progress(staff, activity["id"], "COMPLETED")
    assert (done["percentComplete"], done["state"]) == (100, "COMPLETED")
    assert done["actualEnd"] is not None


async def test_bad_activity_input_is_refused_and_changes_nothing(staff: Api, db: Database, clock: FrozenClock) -> None:
    now = clock.now()
    order = await create_order(staff, now)
    activity = await schedule(staff, order["id"], now)
    before = await fingerprint(db)
    backwards = {
        "kind": "x",
        "plannedStart": (now + timedelta(days=2)).isoformat(),
        "plannedEnd": (now + timedelta(days=1)).isoformat(),
    }
    ok = {"kind": "x", "plannedStart": (now + timedelta(days=1)).isoformat(), "plannedEnd": (now + timedelta(days=2)).isoformat()}
    assert await staff.code(SCHEDULE, {"orderId": order["id"], "input": backwards}) == "INVALID_INPUT"
    assert await staff.code(SCHEDULE, {"orderId": "987654", "input": ok}) == "NOT_FOUND"
    assert await staff.code(SCHEDULE, {"orderId": order["id"], "input": {**ok, "kind": ""}}) == "INVALID_INPUT"
    assert await staff.code(SCHEDULE, {"orderId": order["id"], "input": {**ok, "itemId": "999999"}}) == "INVALID_INPUT"
    assert (
        await staff.code(SCHEDULE, {"orderId": order["id"], "input": {**ok, "plannedStart": "2027-03-02T10:00:00"}})
        == "INVALID_INPUT"
    )
    assert await staff.code(PROGRESS, {"id": activity["id"], "input": {"percentComplete": 101}}) == "INVALID_INPUT"
    assert await staff.code(PROGRESS, {"id": activity["id"], "input": {"percentComplete": -1}}) == "INVALID_INPUT"
    assert await staff.code(PROGRESS, {"id": activity["id"], "input": {"state": "COMPLETED"}}) == "INVALID_TRANSITION"
    future = (now + timedelta(days=1)).isoformat()
    assert await staff.code(PROGRESS, {"id": activity["id"], "input": {"actualStart": future}}) == "INVALID_INPUT"
    assert await staff.code(PROGRESS, {"id": activity["id"], "input": {"percentComplete": 5}, "version": 9}) == "CONFLICT"
    assert await staff.code(PROGRESS, {"id": "55555", "input": {"percentComplete": 5}}) == "NOT_FOUND"
    assert await staff.code(RESCHEDULE, {"id": activity["id"], "version": 9}) == "CONFLICT"
    assert await staff.code(ASSIGN, {"id": activity["id"], "group": "g", "who": "x" * 129}) == "INVALID_INPUT"
    assert await fingerprint(db) == before
