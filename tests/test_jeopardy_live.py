"""Jeopardy, escalation and recovery reach a dashboard's websocket subscription as the clock moves."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import create_order, iso
from tests.jeopardy_support import monitor, policy
from tests.launcher import serve_app
from tests.live import EVENT_FIELDS, subscribe

ALERTS = f"subscription($id: ID, $after: String) {{ jeopardyAlerts(orderId: $id, after: $after) {{ {EVENT_FIELDS} }} }}"
CANCEL = "mutation($id: ID!, $reason: String!) { cancelCustomerOrder(id: $id, reason: $reason) { state } }"
LATE_ESCALATES = policy(rules=[{"name": "late", "level": "late", "escalate_to": 2, "notify": ["ops@example.test"]}])


async def test_a_subscriber_watches_jeopardy_escalation_and_recovery_arrive(db: Database, clock: FrozenClock) -> None:
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, bus_poll_interval_seconds=0.5, _env_file=None
    )
    app = create_app(settings, db=db, clock=clock)
    async with serve_app(app) as address, httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as http:
        staff = Api(http, await issue_token(db, clock, Role.STAFF, "sam.staff"))
        order = await create_order(staff, clock.now(), committedDate=iso(clock.now() + timedelta(days=10)))
        sub = await subscribe(address, await issue_token(db, clock, Role.VIEWER, "noc"), ALERTS, {"id": order["id"]})
        try:
            mon = monitor(db, clock, LATE_ESCALATES)
            clock.advance(timedelta(days=9))
            await mon.sweep()
            await sub.wait_for(1)
            clock.advance(timedelta(days=2))
            await mon.sweep()
            await sub.wait_for(3)
            await staff.ok(CANCEL, {"id": order["id"], "reason": "the customer withdrew"})
            events = await sub.wait_for(5)  # recovery comes with the cancellation itself, no sweep needed
            assert [(e["type"], e["after"]) for e in events] == [
                ("jeopardyChanged", {"jeopardy_level": "atRisk", "jeopardy_reason": events[0]["after"]["jeopardy_reason"]}),
                (
                    "jeopardyChanged",
                    {"jeopardy_level": "late", "jeopardy_reason": "The committed date has passed and the order is not complete."},
                ),
                ("escalated", {"escalation_level": 2}),
                ("jeopardyChanged", {"jeopardy_level": "none", "jeopardy_reason": None}),
                ("escalationLowered", {"escalation_level": 0}),
            ]
            assert events[2]["details"]["notify"] == ["ops@example.test"] and events[2]["details"]["rule"] == "late"
            assert [e["actor"] for e in events] == ["jeopardy-monitor"] * 3 + ["sam.staff"] * 2
            assert sub.sequences == sorted(set(sub.sequences))
        finally:
            await sub.close()
