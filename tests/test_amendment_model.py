"""Model-based test: random amendments among the work they meet keep every order honest.

The state machine of ``test_order_model.py`` with only the rules that bring work to its points of no
return (activities, service order requests and party orders started and completed), amendments and the
party's answers to revisions. After every step, besides that model's checks (roll-ups, completion,
critical path, jeopardy, audit): the order's revision is the number of amendments accepted, a refused
amendment changed nothing, an accepted one touched no item past its point of no return, and a refusal
with AMENDMENT_NOT_ALLOWED had such an item to name.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from app.db import Database
from tests.conftest import PG_URL, empty_postgres
from tests.test_order_model import OrderModel, run_model, units

EXAMPLES = int(os.environ.get("ORDERTRACK_MODEL_EXAMPLES", "3"))
STEPS = int(os.environ.get("ORDERTRACK_MODEL_STEPS", "30"))


def _left_out(self: OrderModel, *args: Any, **kwargs: Any) -> None:
    """An inherited rule as this model has it: a plain method, so hypothesis never runs it (it runs what ``@rule`` marked)."""
    raise AssertionError("a rule the amendment model leaves out was run")


class AmendmentModel(OrderModel):
    """Rules left out: changes that never bring work to a point of no return."""

    update_order = change_order_state = escalate_order = reschedule_activity = _left_out
    update_party_order = change_party_order_state = escalate_party_order = check_in = resolve_change = _left_out
    reject = report_progress = request_change = advance_clock = sweep = complete_order = cancel_order = _left_out
    schedule_activity = activity_progress = update_request = _left_out

    @precondition(lambda self: self.orders)
    @rule(i=st.integers(0, 99), pick=st.integers(0, 9), start_now=st.booleans())
    def schedule_item_work(self, i: int, pick: int, start_now: bool) -> None:
        """An activity for one of the order's items, planned from now (or an hour ago) for a day."""
        order = self.read_order(self.orders[i % len(self.orders)])
        start = self.now - timedelta(hours=1) if start_now else self.now + timedelta(hours=2)
        data = {
            "kind": "work",
            "itemId": order["allItems"][pick % len(order["allItems"])]["id"],
            "plannedStart": start.isoformat(),
            "plannedEnd": (start + timedelta(days=1)).isoformat(),
        }
        answer = self.send(self.h.staff, "scheduleActivity", {"orderId": order["id"], "input": data})
        if answer is not None:
            self.activities.append((order["id"], answer["id"]))

    @precondition(lambda self: self.activities)
    @rule(i=st.integers(0, 99))
    def start_activity(self, i: int) -> None:
        _, aid = self.activities[i % len(self.activities)]
        self.send(self.h.staff, "recordActivityProgress", {"id": aid, "input": {"state": "IN_PROGRESS"}})

    def amendment_candidates(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        """Items with work first (where the points of no return are), then the others."""
        worked = {u["item"] for u in units(order)}
        return sorted(order["allItems"], key=lambda i: i["id"] not in worked)

    @precondition(lambda self: self.activities)
    @rule(i=st.integers(0, 99))
    def finish_activity(self, i: int) -> None:
        _, aid = self.activities[i % len(self.activities)]
        for state in ("IN_PROGRESS", "COMPLETED"):
            self.send(self.h.staff, "recordActivityProgress", {"id": aid, "input": {"state": state}})

    @precondition(lambda self: self.requests)
    @rule(i=st.integers(0, 99))
    def finish_request(self, i: int) -> None:
        _, rid = self.requests[i % len(self.requests)]
        for state in ("IN_PROGRESS", "COMPLETED"):
            self.send(self.h.staff, "updateServiceOrderRequest", {"id": rid, "state": state})


def _run(db: Database, loop: asyncio.AbstractEventLoop) -> None:
    run_model(loop, db, AmendmentModel, examples=EXAMPLES, steps=STEPS)


def test_random_amendments_never_pass_a_point_of_no_return_on_sqlite(tmp_path: Any) -> None:
    loop = asyncio.new_event_loop()
    try:
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/amend-model.db")
        loop.run_until_complete(db.create_all())
        try:
            _run(db, loop)
        finally:
            loop.run_until_complete(db.dispose())
    finally:
        loop.close()


def test_random_amendments_never_pass_a_point_of_no_return_on_postgresql(pg_schema: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        db = Database(PG_URL, schema=pg_schema, pool_size=3)
        loop.run_until_complete(empty_postgres(db))
        try:
            _run(db, loop)
        finally:
            loop.run_until_complete(db.dispose())
    finally:
        loop.close()
