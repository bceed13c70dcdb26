"""Orders in jeopardy escalate by the local policy, de-escalate on recovery, and staff escalate by hand."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.errors import InvalidInput
from app.events import Event
from app.jeopardy.policy import Policy, load_policy, parse_policy
from app.main import create_app
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import create_order, iso, progress, schedule
from tests.jeopardy_support import alerts, levels, monitor, policy

ESCALATE = """mutation($id: ID!, $level: Int!, $reason: String!, $notify: [String!], $version: Int) {
  escalateCustomerOrder(id: $id, level: $level, reason: $reason, notify: $notify, version: $version) {
    id escalationLevel version escalations { fromLevel toLevel direction rule reason notify actor manual jeopardyLevel } } }"""
HISTORY = """query($id: ID!) { customerOrder(id: $id) { jeopardyLevel escalationLevel
  escalations { fromLevel toLevel direction rule reason notify actor manual jeopardyLevel at } } }"""
DRY_RUN = """{ escalationDryRun { at
  levelChanges { entity entityId orderId fromLevel toLevel reason }
  escalations { orderId direction fromLevel toLevel rule reason notify } } }"""
RESCHEDULE = "mutation($id: ID!, $end: DateTime) { rescheduleActivity(id: $id, plannedEnd: $end) { id } }"

LADDER = policy(
    levels={1: "team lead", 2: "operations manager"},
    rules=[
        {"name": "jeopardy-2h", "level": "jeopardy", "after": "2h", "escalate_to": 1, "notify": ["lead@example.test"]},
        {"name": "jeopardy-1d", "level": "jeopardy", "after": "1d", "escalate_to": 2, "notify": ["ops@example.test"]},
        {"name": "vip", "level": "atRisk", "customers": ["VIP-1"], "escalate_to": 2, "notify": ["vip-desk@example.test"]},
        {"name": "critical-late", "level": "late", "priorities": ["critical"], "escalate_to": 2, "notify": ["ops@example.test"]},
    ],
)

URGENT = policy(rules=[{"name": "now", "level": "jeopardy", "escalate_to": 1, "notify": ["lead@example.test"]}])


async def event_count(db: Database) -> int:
    async with db.read() as session:
        return int((await session.execute(select(func.count()).select_from(Event))).scalar_one())


async def slip(staff: Api, clock: FrozenClock, order_id: str, days: int) -> str:
    act = await schedule(staff, order_id, clock.now(), days=(1, 2))
    await staff.ok(RESCHEDULE, {"id": act["id"], "end": iso(clock.now() + timedelta(days=days))})
    return act["id"]


@pytest.fixture
def escalation_policy() -> Policy:
    """The app of these tests escalates up the ladder."""
    return LADDER


async def test_jeopardy_escalates_step_by_step_and_deescalates_on_recovery(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=20)))
    act = await slip(staff, clock, order["id"], days=25)
    mon = monitor(db, clock, LADDER)
    await mon.sweep()
    assert (await staff.ok(HISTORY, {"id": order["id"]}))["customerOrder"]["escalationLevel"] == 0  # not 2h yet
    clock.advance(timedelta(hours=2))
    await mon.sweep()
    await mon.sweep()  # repeating a sweep never escalates twice
    clock.advance(timedelta(hours=22))
    await mon.sweep()
    got = (await staff.ok(HISTORY, {"id": order["id"]}))["customerOrder"]
    assert got["escalationLevel"] == 2
    assert [(e["fromLevel"], e["toLevel"], e["rule"], e["notify"]) for e in got["escalations"]] == [
        (0, 1, "jeopardy-2h", ["lead@example.test"]),
        (1, 2, "jeopardy-1d", ["ops@example.test"]),
    ]
    assert all(e["actor"] == "jeopardy-monitor" and not e["manual"] for e in got["escalations"])
    # the activity is pulled back in: the order recovers and de-escalates in the same transaction
    await staff.ok(RESCHEDULE, {"id": act, "end": iso(clock.now() + timedelta(days=3))})
    got = (await staff.ok(HISTORY, {"id": order["id"]}))["customerOrder"]
    assert (got["jeopardyLevel"], got["escalationLevel"]) == ("NONE", 0)
    assert got["escalations"][-1]["direction"] == "DEESCALATE"
    events = await alerts(db, order["id"])
    assert [e.type for e in events] == ["jeopardyChanged", "escalated", "escalated", "jeopardyChanged", "escalationLowered"]
    assert events[1].data["notify"] == ["lead@example.test"] and events[1].data["rule"] == "jeopardy-2h"
    assert events[-1].data["before"] == {"escalation_level": 2} and events[-1].data["after"] == {"escalation_level": 0}


async def test_rules_apply_only_to_their_customers_and_priorities(staff: Api, db: Database, clock: FrozenClock) -> None:
    vip = await create_order(staff, clock.now(), customerId="VIP-1", committedDate=iso(clock.now() + timedelta(days=10)))
    plain = await create_order(staff, clock.now(), customerId="CUST-2", committedDate=iso(clock.now() + timedelta(days=10)))
    critical = await create_order(staff, clock.now(), priority="CRITICAL", committedDate=iso(clock.now() + timedelta(days=11)))
    normal = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=11)))
    mon = monitor(db, clock, LADDER)
    clock.advance(timedelta(days=9))
    await mon.sweep()
    assert [e.type for e in await alerts(db, vip["id"])] == ["jeopardyChanged", "escalated"]
    assert [e.type for e in await alerts(db, plain["id"])] == ["jeopardyChanged"]
    clock.advance(timedelta(days=2, minutes=1))
    await mon.sweep()
    assert levels(await alerts(db, critical["id"])) == ["atRisk", "late"]
    assert [e.data.get("rule") for e in await alerts(db, critical["id"]) if e.type == "escalated"] == ["critical-late"]
    assert [e.type for e in await alerts(db, normal["id"])] == ["jeopardyChanged", "jeopardyChanged"]


async def test_the_dry_run_shows_what_the_policy_would_do_and_changes_nothing(
    staff: Api, viewer: Api, db: Database, clock: FrozenClock
) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=20)))
    await slip(staff, clock, order["id"], days=25)  # jeopardy at once, by the mutation
    late = await create_order(staff, clock.now(), priority="CRITICAL", committedDate=iso(clock.now() + timedelta(days=1)))
    clock.advance(timedelta(days=1, hours=3))
    before = await event_count(db)
    run = (await viewer.ok(DRY_RUN))["escalationDryRun"]
    assert {(c["entity"], c["orderId"], c["fromLevel"], c["toLevel"]) for c in run["levelChanges"]} == {
        ("order", late["id"], "NONE", "LATE")
    }
    assert [(e["orderId"], e["direction"], e["toLevel"], e["rule"]) for e in run["escalations"]] == [
        (order["id"], "ESCALATE", 2, "jeopardy-1d"),  # over a day in jeopardy: the higher rule wins
        (late["id"], "ESCALATE", 2, "critical-late"),
    ]
    assert run["escalations"][1]["notify"] == ["ops@example.test"]
    assert await event_count(db) == before
    got = (await staff.ok(HISTORY, {"id": late["id"]}))["customerOrder"]
    assert (got["jeopardyLevel"], got["escalationLevel"], got["escalations"]) == ("NONE", 0, [])
    # the real sweep then does exactly that
    separate = Database(db.url, schema=db.schema, pool_size=2)  # as the monitor process would
    try:
        result = await monitor(separate, clock, LADDER).sweep()
    finally:
        await separate.dispose()
    assert result.outcome is not None and (result.outcome.level_changes, result.outcome.escalations) == (1, 2)


async def test_staff_escalate_an_order_by_hand(staff: Api, viewer: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    got = (
        await staff.ok(
            ESCALATE, {"id": order["id"], "level": 2, "reason": "customer called the CEO", "notify": ["ops@example.test"]}
        )
    )["escalateCustomerOrder"]
    assert got["escalationLevel"] == 2
    assert got["escalations"] == [
        {
            "fromLevel": 0,
            "toLevel": 2,
            "direction": "ESCALATE",
            "rule": None,
            "reason": "customer called the CEO",
            "notify": ["ops@example.test"],
            "actor": "sam.staff",
            "manual": True,
            "jeopardyLevel": "NONE",
        }
    ]
    events = await alerts(db, order["id"])
    assert [(e.type, e.actor, e.data["manual"], e.data["notify"]) for e in events] == [
        ("escalated", "sam.staff", True, ["ops@example.test"])
    ]
    # a sweep leaves a hand-made escalation alone (the order never was in jeopardy, so it has not recovered)
    await monitor(db, clock, LADDER).sweep()
    assert (await staff.ok(HISTORY, {"id": order["id"]}))["customerOrder"]["escalationLevel"] == 2
    down = (await staff.ok(ESCALATE, {"id": order["id"], "level": 0, "reason": "calmed down"}))["escalateCustomerOrder"]
    assert down["escalations"][-1]["direction"] == "DEESCALATE"
    assert [e.type for e in await alerts(db, order["id"])] == ["escalated", "escalationLowered"]


async def test_bad_manual_escalations_are_refused_and_change_nothing(
    staff: Api, viewer: Api, db: Database, clock: FrozenClock
) -> None:
    order = await create_order(staff, clock.now())
    before = await event_count(db)
    variables = {"id": order["id"], "level": 1, "reason": "why not"}
    assert await viewer.code(ESCALATE, variables) == "FORBIDDEN"
    assert (await staff.error(ESCALATE, {**variables, "level": 99}))["extensions"] == {"code": "INVALID_INPUT", "field": "level"}
    assert (await staff.error(ESCALATE, {**variables, "level": 0}))["extensions"]["field"] == "level"  # already 0
    assert (await staff.error(ESCALATE, {**variables, "reason": "  "}))["extensions"] == {
        "code": "INVALID_INPUT",
        "field": "reason",
    }
    assert await staff.code(ESCALATE, {**variables, "version": 99}) == "CONFLICT"
    assert await staff.code(ESCALATE, {**variables, "id": "424242"}) == "NOT_FOUND"
    assert await event_count(db) == before
    got = (await staff.ok(HISTORY, {"id": order["id"]}))["customerOrder"]
    assert (got["escalationLevel"], got["escalations"]) == (0, [])


async def test_the_policy_in_force_is_readable(viewer: Api) -> None:
    got = (
        await viewer.ok(
            "{ escalationPolicy { atRiskSlack levels { level name } rules { name level escalateTo afterSeconds notify priorities customers } } }"
        )
    )["escalationPolicy"]
    assert got["atRiskSlack"] == 0.2
    assert got["levels"] == [{"level": 1, "name": "team lead"}, {"level": 2, "name": "operations manager"}]
    assert got["rules"][1] == {
        "name": "jeopardy-1d",
        "level": "JEOPARDY",
        "escalateTo": 2,
        "afterSeconds": 86400,
        "notify": ["ops@example.test"],
        "priorities": [],
        "customers": [],
    }


async def test_two_apps_in_one_process_each_run_under_the_policy_they_were_given(
    viewer: Api, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    """The policy is handed to the app, not put in force for the process: a second app changes nothing of the first."""
    other = create_app(settings, db=db, clock=clock, policy=URGENT)
    async with (
        other.router.lifespan_context(other),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://other.test") as client,
    ):
        urgent_viewer = Api(client, await issue_token(db, clock, Role.VIEWER, "other.viewer"))
        query = "{ escalationPolicy { rules { name } } }"
        assert (await urgent_viewer.ok(query))["escalationPolicy"]["rules"] == [{"name": "now"}]
        assert [r["name"] for r in (await viewer.ok(query))["escalationPolicy"]["rules"]] == [r.name for r in LADDER.rules]


def test_the_shipped_policy_loads_and_another_file_replaces_it(tmp_path: Path) -> None:
    shipped = load_policy()
    assert {r.name for r in shipped.rules} >= {"late", "jeopardy-urgent"}
    own = tmp_path / "policy.json"
    own.write_text(
        json.dumps({"at_risk_slack": 0.1, "rules": [{"name": "x", "level": "late", "escalate_to": 3, "after": "30m"}]})
    )
    mine = load_policy(own)
    assert mine.at_risk_slack == 0.1 and mine.rules[0].after == timedelta(minutes=30) and mine.max_level == 9


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"rules": [{"level": "doomed", "escalate_to": 1}]}, "level must be one of"),
        ({"rules": [{"level": "late", "escalate_to": 0}]}, "escalate_to"),
        ({"rules": [{"level": "late", "escalate_to": 1, "after": "soon"}]}, "not a duration"),
        ({"rules": [{"level": "late", "escalate_to": 1, "priorities": ["urgent"]}]}, "unknown urgent"),
        ({"rules": [{"level": "late", "escalate_to": 1, "notfiy": ["x"]}]}, "unknown keys notfiy"),
        ({"at_risk_slack": 1.5}, "at_risk_slack"),
        ({"rules": [{"level": "late", "escalate_to": 1, "applies_to": "activity"}]}, "applies_to must be"),
        ({"rules": [{"level": "late", "escalate_to": 1, "parties": ["Acme"]}]}, "parties only narrows"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_a_wrong_policy_is_refused_with_the_reason(data: object, complaint: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_policy(data, "my policy")
    assert complaint in caught.value.message and "my policy" in caught.value.message


@pytest.mark.parametrize("escalation_policy", [URGENT], ids=["urgent"])
async def test_progress_reports_do_not_escalate_twice(staff: Api, db: Database, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=20)))
    act = await slip(staff, clock, order["id"], days=25)  # the mutation's own evaluation escalates at once
    await progress(staff, act, "IN_PROGRESS")
    await monitor(db, clock, URGENT).sweep()
    assert [e.type for e in await alerts(db, order["id"])] == ["jeopardyChanged", "escalated"]
