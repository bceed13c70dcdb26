"""Model-based test: random staff and partner mutations, sweeps and clock moves never leave an order lying.

A hypothesis state machine drives the GraphQL API on SQLite and on PostgreSQL and, after every step,
reads every order it made afresh and checks it against rules written here, independently of the
service's own code: item states are the roll-up of their work, an order completes exactly when its
work is done, expected completion is the critical path, open party orders are needed by the committed
date at the latest, stored jeopardy levels are what the rules give now, closed rows are in no
jeopardy and not escalated, every mutation's answer equals a fresh read, and the audit passes.

``ORDERTRACK_MODEL_EXAMPLES`` (default 4) and ``ORDERTRACK_MODEL_STEPS`` (default 25) set how much
it explores; e.g. ``ORDERTRACK_MODEL_EXAMPLES=300`` for a long run.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from datetime import datetime, timedelta
from typing import Any, overload

import httpx
from hypothesis import HealthCheck, event, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from app.audit import audit
from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.jeopardy.monitor import Monitor
from app.jeopardy.policy import load_policy
from app.main import create_app
from tests.api import Api
from tests.conftest import PG_URL, START, empty_postgres, issue_token

EXAMPLES = int(os.environ.get("ORDERTRACK_MODEL_EXAMPLES", "4"))
STEPS = int(os.environ.get("ORDERTRACK_MODEL_STEPS", "25"))
INTERVAL_HOURS = 48
SLACK = 0.2  # the shipped policy's at_risk_slack
AT_RISK_PROBABILITY = 0.5  # the shipped policy's at_risk_probability: a forecast giving less puts the order at risk

ORDER_SEL = """id state version revision committedDate requestedAt expectedCompletion jeopardyLevel jeopardyReason escalationLevel priority
  forecast { onTimeProbability }
  allItems { id parentId state fulfillment partyId }
  activities { id itemId state plannedStart plannedEnd actualStart actualEnd expectedEnd predecessorIds waitsOnPartyOrderIds jeopardyLevel version }
  serviceOrderRequests { id itemId state }
  partyOrders { id partyId state neededBy committedDeliveryDate expectedDeliveryDate deliveredAt acknowledgedAt lastReportAt
    nextReportDue createdAt jeopardyLevel jeopardyReason escalationLevel version revision lines { itemId } milestones { plannedDate reachedAt }
    revisions { revision state } }"""
PO_SEL = """id partyId state neededBy committedDeliveryDate expectedDeliveryDate deliveredAt acknowledgedAt lastReportAt nextReportDue
  createdAt jeopardyLevel jeopardyReason escalationLevel version revision lines { itemId } revisions { revision state }"""
ACT_SEL = "id itemId state plannedStart plannedEnd actualStart actualEnd expectedEnd predecessorIds waitsOnPartyOrderIds jeopardyLevel version"
GET_ORDER = f"query($id: ID!) {{ customerOrder(id: $id) {{ {ORDER_SEL} }} }}"
GET_PO = f"query($id: ID!) {{ partyOrder(id: $id) {{ {PO_SEL} }} }}"
TIMELINE = "query($id: ID!, $after: String) { orderTimeline(orderId: $id, first: 100, after: $after) { edges { cursor node { type after } } } }"

CREATE_PARTY = "mutation($input: CreatePartyInput!) { createParty(input: $input) { id } }"
MUTATIONS = {
    "createCustomerOrder": f"mutation($input: CreateCustomerOrderInput!) {{ createCustomerOrder(input: $input) {{ {ORDER_SEL} }} }}",
    "updateCustomerOrder": f"mutation($id: ID!, $version: Int!, $input: UpdateCustomerOrderInput!) {{ updateCustomerOrder(id: $id, version: $version, input: $input) {{ {ORDER_SEL} }} }}",
    "changeOrderState": f"mutation($id: ID!, $state: OrderState!, $reason: String) {{ changeOrderState(id: $id, state: $state, reason: $reason) {{ {ORDER_SEL} }} }}",
    "cancelCustomerOrder": f"mutation($id: ID!, $reason: String!) {{ cancelCustomerOrder(id: $id, reason: $reason) {{ {ORDER_SEL} }} }}",
    "completeCustomerOrder": f"mutation($id: ID!, $force: Boolean!, $reason: String) {{ completeCustomerOrder(id: $id, force: $force, reason: $reason) {{ {ORDER_SEL} }} }}",
    "escalateCustomerOrder": f"mutation($id: ID!, $level: Int!, $reason: String!) {{ escalateCustomerOrder(id: $id, level: $level, reason: $reason) {{ {ORDER_SEL} }} }}",
    "scheduleActivity": f"mutation($orderId: ID!, $input: ScheduleActivityInput!) {{ scheduleActivity(orderId: $orderId, input: $input) {{ {ACT_SEL} }} }}",
    "rescheduleActivity": f"mutation($id: ID!, $plannedStart: DateTime, $plannedEnd: DateTime, $waits: [ID!]) {{ rescheduleActivity(id: $id, plannedStart: $plannedStart, plannedEnd: $plannedEnd, waitsOnPartyOrderIds: $waits) {{ {ACT_SEL} }} }}",
    "recordActivityProgress": f"mutation($id: ID!, $input: ActivityProgressInput!) {{ recordActivityProgress(id: $id, input: $input) {{ {ACT_SEL} }} }}",
    "generateServiceOrderRequests": "mutation($orderId: ID!) { generateServiceOrderRequests(orderId: $orderId) { id itemId state } }",
    "updateServiceOrderRequest": "mutation($id: ID!, $state: ServiceOrderRequestState) { updateServiceOrderRequest(id: $id, state: $state) { id itemId state } }",
    "requestPartyOrders": f"mutation($input: RequestPartyOrdersInput!) {{ requestPartyOrders(input: $input) {{ {PO_SEL} }} }}",
    "updatePartyOrder": f"mutation($id: ID!, $version: Int!, $input: UpdatePartyOrderInput!) {{ updatePartyOrder(id: $id, version: $version, input: $input) {{ {PO_SEL} }} }}",
    "changePartyOrderState": f"mutation($id: ID!, $state: PartyOrderState!, $reason: String) {{ changePartyOrderState(id: $id, state: $state, reason: $reason) {{ {PO_SEL} }} }}",
    "cancelPartyOrder": f"mutation($id: ID!, $reason: String!) {{ cancelPartyOrder(id: $id, reason: $reason) {{ {PO_SEL} }} }}",
    "escalatePartyOrder": f"mutation($id: ID!, $level: Int!, $reason: String!) {{ escalatePartyOrder(id: $id, level: $level, reason: $reason) {{ {PO_SEL} }} }}",
    "recordPartyCheckIn": "mutation($id: ID!, $input: CheckInInput!) { recordPartyCheckIn(partyOrderId: $id, input: $input) { id } }",
    "resolvePartyChangeRequest": "mutation($id: ID!, $decision: ChangeDecision!, $note: String) { resolvePartyChangeRequest(id: $id, decision: $decision, note: $note) { id state } }",
    "acknowledgePartyOrder": f"mutation($id: ID!, $key: String!, $input: AcknowledgePartyOrderInput!) {{ acknowledgePartyOrder(id: $id, idempotencyKey: $key, input: $input) {{ {PO_SEL} }} }}",
    "rejectPartyOrder": f"mutation($id: ID!, $key: String!, $reason: String!) {{ rejectPartyOrder(id: $id, idempotencyKey: $key, reason: $reason) {{ {PO_SEL} }} }}",
    "reportPartyOrderProgress": f"mutation($id: ID!, $key: String!, $input: ProgressReportInput!) {{ reportPartyOrderProgress(id: $id, idempotencyKey: $key, input: $input) {{ {PO_SEL} }} }}",
    "reportPartyOrderCompletion": f"mutation($id: ID!, $key: String!) {{ reportPartyOrderCompletion(id: $id, idempotencyKey: $key) {{ {PO_SEL} }} }}",
    "confirmPartyOrderCancellation": f"mutation($id: ID!, $key: String!) {{ confirmPartyOrderCancellation(id: $id, idempotencyKey: $key) {{ {PO_SEL} }} }}",
    "amendCustomerOrder": f"mutation($id: ID!, $version: Int!, $input: AmendCustomerOrderInput!) {{ amendCustomerOrder(id: $id, version: $version, input: $input) {{ {ORDER_SEL} }} }}",
    "acknowledgePartyOrderRevision": f"mutation($id: ID!, $revision: Int!, $key: String!) {{ acknowledgePartyOrderRevision(id: $id, revision: $revision, idempotencyKey: $key) {{ {PO_SEL} }} }}",
    "rejectPartyOrderRevision": f"mutation($id: ID!, $revision: Int!, $key: String!, $reason: String!) {{ rejectPartyOrderRevision(id: $id, revision: $revision, idempotencyKey: $key, reason: $reason) {{ {PO_SEL} }} }}",
    "requestPartyOrderChange": "mutation($id: ID!, $key: String!, $input: ChangeRequestInput!) { requestPartyOrderChange(id: $id, idempotencyKey: $key, input: $input) { id } }",
}
# Refusals a random step may meet; anything else (INTERNAL_ERROR, say) fails the test.
EXPECTED_REFUSALS = {"INVALID_INPUT", "INVALID_TRANSITION", "CONFLICT", "NOT_FOUND", "AMENDMENT_NOT_ALLOWED"}

CLOSED_ORDER = {"completed", "cancelled", "failed", "rejected", "partial"}
CLOSED_ACTIVITY = {"completed", "failed", "cancelled"}
CLOSED_PO = {"completed", "cancelled", "failed", "rejected"}
CLOSED_ITEM = {"completed", "cancelled", "failed", "rejected"}
OPEN_ORDER = {"acknowledged", "inProgress", "pending", "held"}
ACTIVE_PO = {"acknowledged", "inProgress", "pending", "held"}
DONE = {"completed"}
DROPPED = {"cancelled", "rejected"}


@overload
def camel(value: str) -> str: ...
@overload
def camel(value: None) -> None: ...
def camel(value: str | None) -> str | None:
    """GraphQL enum value (IN_PROGRESS) to the domain's name (inProgress)."""
    if value is None:
        return None
    head, *rest = value.lower().split("_")
    return head + "".join(r.title() for r in rest)


@overload
def when(text: str) -> datetime: ...
@overload
def when(text: None) -> None: ...
def when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# ---- the reference rules, written from the issue's description, not from the service's code ----


def units(order: dict[str, Any]) -> list[dict[str, Any]]:
    """Every unit of work: (kind, item, done, dropped, started)."""
    out = []
    for a in order["activities"]:
        s = camel(a["state"])
        out.append({"item": a["itemId"], "done": s in DONE, "dropped": s in DROPPED, "started": s != "planned", "party": False})
    for r in order["serviceOrderRequests"]:
        s = camel(r["state"])
        out.append(
            {"item": r["itemId"], "done": s in DONE, "dropped": s in DROPPED, "started": s != "acknowledged", "party": False}
        )
    for po in order["partyOrders"]:
        s = camel(po["state"])
        for line in po["lines"]:
            out.append(
                {
                    "item": line["itemId"],
                    "done": s in DONE,
                    "dropped": s in DROPPED,
                    "started": po["acknowledgedAt"] is not None,
                    "party": True,
                }
            )
    return out


def expected_item(state: str, own: list[dict[str, Any]], kids: list[str], by_party: bool = False) -> str:
    """What the roll-up makes of an item; a party item completes only with a delivery."""
    live = [u for u in own if not (u["done"] or u["dropped"])]
    if state == "pendingCancellation" and not live:
        return "cancelled"  # removed by an amendment, its party confirmed
    if state in CLOSED_ITEM or state in ("held", "pendingCancellation", "assessingCancellation"):
        return state
    live = [u for u in own if not (u["done"] or u["dropped"])]
    something_done = any(u["done"] for u in own) or "completed" in kids
    delivered = not by_party or any(u["done"] and u["party"] for u in own)
    if something_done and delivered and not live and all(k in CLOSED_ITEM for k in kids):
        return "completed"
    if any(u["done"] for u in own) or any(u["started"] for u in live) or any(k in ("inProgress", "completed") for k in kids):
        return "inProgress"
    return "acknowledged" if state == "acknowledged" else "pending"


def items_by_id(order: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in order["allItems"]}


def delivery(po: dict[str, Any]) -> datetime | None:
    """When an activity waiting on the party order may start: once delivered, or when it is expected
    (else committed, else needed); a dropped party order holds nothing."""
    s = camel(po["state"])
    if s in DROPPED:
        return None
    dated = when(po["expectedDeliveryDate"]) or when(po["committedDeliveryDate"]) or when(po["neededBy"])
    return (when(po["deliveredAt"]) or dated) if s in DONE else dated


def undelivered(a: dict[str, Any], order: dict[str, Any]) -> list[dict[str, Any]]:
    """The party orders the activity waits on that hold it: neither delivered nor dropped."""
    waited = set(a["waitsOnPartyOrderIds"])
    return [po for po in order["partyOrders"] if po["id"] in waited and camel(po["state"]) not in DONE | DROPPED]


def critical_path(order: dict[str, Any]) -> datetime | None:
    acts = {a["id"]: a for a in order["activities"] if camel(a["state"]) not in DROPPED}
    deliveries = {po["id"]: delivery(po) for po in order["partyOrders"]}
    memo: dict[str, datetime] = {}

    def finish(aid: str) -> datetime:
        if aid in memo:
            return memo[aid]
        a = acts[aid]
        if camel(a["state"]) in DONE:
            memo[aid] = when(a["actualEnd"]) or when(a["plannedEnd"])
            return memo[aid]
        start, end = when(a["plannedStart"]), when(a["plannedEnd"])
        assert start is not None and end is not None
        own = when(a["expectedEnd"]) or end
        preds = [finish(p) for p in a["predecessorIds"] if p in acts]
        preds += [d for po in a["waitsOnPartyOrderIds"] if (d := deliveries.get(po)) is not None]
        if preds and max(preds) > (when(a["actualStart"]) or start) and a["actualStart"] is None:
            own = max(own, max(preds) + (end - start))
        memo[aid] = own
        return own

    ends = [finish(aid) for aid in acts]
    for po in order["partyOrders"]:
        s = camel(po["state"])
        end = when(po["deliveredAt"]) if s in DONE else None if s in DROPPED else when(po["expectedDeliveryDate"])
        if end is not None:
            ends.append(end)
    return max(ends) if ends else None


Verdict = set[str]  # the levels acceptable now: one, or two when the clock sits on a threshold


def near(a: float, b: float) -> bool:
    return abs(a - b) < 1.0  # SQLite's julianday arithmetic is exact to ~50 µs: do not judge on the line


def order_level(order: dict[str, Any], now: datetime) -> Verdict:
    committed, requested = when(order["committedDate"]), when(order["requestedAt"])
    expected = when(order["expectedCompletion"])
    assert committed is not None and requested is not None
    if committed <= now:
        return {"late"}
    if expected is not None and expected > committed:
        return {"jeopardy"}
    # The forecast's chance is taken as the service drew it (the draws are not redone here).
    forecast = order.get("forecast")
    if forecast is not None and forecast["onTimeProbability"] < AT_RISK_PROBABILITY:
        return {"atRisk"}
    finish = expected if expected is not None and expected > now else now
    slack, window = (committed - finish).total_seconds(), (committed - requested).total_seconds()
    if near(slack, window * SLACK):
        return {"atRisk", "none"}
    return {"atRisk"} if slack < window * SLACK else {"none"}


def activity_level(a: dict[str, Any], acts: dict[str, dict[str, Any]], order: dict[str, Any], now: datetime) -> Verdict:
    start, end = when(a["plannedStart"]), when(a["plannedEnd"])
    assert start is not None and end is not None
    if end <= now:
        return {"late"}
    if a["actualStart"] is None:
        for pid in a["predecessorIds"]:
            p = acts[pid]
            if camel(p["state"]) in DROPPED | DONE:
                continue
            if (when(p["expectedEnd"]) or when(p["plannedEnd"])) > start or start <= now:
                return {"jeopardy"}
        for po in undelivered(a, order):  # a party order it waits on slips as a predecessor does
            promised = when(po["expectedDeliveryDate"]) or when(po["committedDeliveryDate"])
            if (promised is not None and promised > start) or start <= now:
                return {"jeopardy"}
    expected = when(a["expectedEnd"])
    if expected is not None and expected > end:
        return {"jeopardy"}
    return {"none"}


def party_order_level(po: dict[str, Any], now: datetime) -> Verdict:
    needed = when(po["neededBy"])
    assert needed is not None
    if needed <= now:
        return {"late"}
    promised = when(po["expectedDeliveryDate"]) or when(po["committedDeliveryDate"])
    if promised is not None and promised > needed:
        return {"jeopardy"}
    if any(m["reachedAt"] is None and when(m["plannedDate"]) <= now for m in po["milestones"]):
        return {"jeopardy"}
    due = when(po["nextReportDue"])
    if due is not None and due <= now:
        return {"atRisk"}
    created = when(po["createdAt"])
    assert created is not None
    if due is None and po["lastReportAt"] is None and created + timedelta(hours=INTERVAL_HOURS) <= now:
        return {"atRisk"}
    return {"none"}


class Harness:
    """One service for a whole test: database, frozen clock, app, staff and partner clients."""

    def __init__(self, loop: asyncio.AbstractEventLoop, db: Database) -> None:
        self.loop, self.db = loop, db
        self.clock = FrozenClock(START)
        self.app = create_app(
            Settings(database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, _env_file=None),
            db=db,
            clock=self.clock,
        )
        self.keys = itertools.count(1)
        self.monitor = Monitor(db, self.clock, policy=load_policy())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def start(self) -> None:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://ordertrack.test")
        self.staff = Api(self.http, await issue_token(self.db, self.clock, Role.STAFF, "model.staff"))
        self.parties: list[str] = []
        self.partners: dict[str, Api] = {}
        for n in range(2):
            body = await self.staff.ok(
                CREATE_PARTY,
                {
                    "input": {
                        "name": f"Model party {uuid.uuid4().hex[:6]} {n}",
                        "kind": "SUPPLIER",
                        "reportingIntervalHours": INTERVAL_HOURS,
                    }
                },
            )
            pid = body["createParty"]["id"]
            self.parties.append(pid)
            self.partners[pid] = Api(
                self.http, await issue_token(self.db, self.clock, Role.PARTNER, f"model-{pid}", party_id=int(pid))
            )

    async def stop(self) -> None:
        await self.http.aclose()
        await self._lifespan.__aexit__(None, None, None)


HARNESS: Harness | None = None
offsets = st.integers(min_value=1, max_value=40 * 24).map(lambda h: timedelta(hours=h, minutes=7))


class OrderModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert HARNESS is not None
        self.h = HARNESS
        self.orders: list[str] = []
        self.activities: list[tuple[str, str]] = []  # (order, activity)
        self.requests: list[tuple[str, str]] = []
        self.party_orders: list[tuple[str, str, str]] = []  # (order, party order, party)
        self.change_requests: list[str] = []
        self.forced: set[str] = set()
        self.revisions: dict[str, int] = {}  # order -> amendments accepted
        self.fresh_levels = True  # no clock move since the last sweep

    # ---- helpers ----
    @property
    def now(self) -> datetime:
        return self.h.clock.now()

    def send(self, api: Api, name: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        body = self.h.run(api.send(MUTATIONS[name], variables))
        if body.get("errors"):
            code = body["errors"][0].get("extensions", {}).get("code")
            assert code in EXPECTED_REFUSALS, (name, variables, body["errors"])
            return None
        answer = body["data"][name]
        self.check_answer(name, answer)
        return answer

    def check_answer(self, name: str, answer: Any) -> None:
        """The answer of a mutation equals a fresh read of the same fields."""
        if isinstance(answer, dict) and "allItems" in answer:
            assert answer == self.read_order(answer["id"]), name
        elif isinstance(answer, dict) and "lines" in answer:
            fresh = self.h.run(self.h.staff.ok(GET_PO, {"id": answer["id"]}))["partyOrder"]
            assert answer == fresh, name
        elif isinstance(answer, dict) and "predecessorIds" in answer:
            order = next(o for o, a in self.activities if a == answer["id"]) if name != "scheduleActivity" else None
            if order is not None:
                fresh = next(a for a in self.read_order(order)["activities"] if a["id"] == answer["id"])
                assert answer == fresh, name

    def read_order(self, order_id: str) -> dict[str, Any]:
        return self.h.run(self.h.staff.ok(GET_ORDER, {"id": order_id}))["customerOrder"]

    def key(self) -> str:
        return f"model-{uuid.uuid4().hex[:8]}-{next(self.h.keys)}"

    # ---- staff: customer orders ----
    @rule(
        party_items=st.lists(st.sampled_from([0, 1]), max_size=2),
        internal=st.integers(0, 2),
        bundle=st.booleans(),
        days=st.integers(3, 40),
        priority=st.sampled_from(["NORMAL", "HIGH", "CRITICAL"]),
    )
    def create_order(self, party_items: list[int], internal: int, bundle: bool, days: int, priority: str) -> None:
        items: list[dict[str, Any]] = [{"productRef": f"INT-{n}"} for n in range(internal)]
        items += [
            {"productRef": f"PARTY-{n}", "fulfillment": "PARTY", "partyId": self.h.parties[p]} for n, p in enumerate(party_items)
        ]
        if not items:
            items = [{"productRef": "ONLY"}]
        if bundle:
            items = [{"productRef": "BUNDLE", "children": items}]
        answer = self.send(
            self.h.staff,
            "createCustomerOrder",
            {
                "input": {
                    "salesRequestRef": f"SR-MODEL-{uuid.uuid4().hex[:10]}",
                    "customerId": "C-1",
                    "customerName": "Model Ltd",
                    "priority": priority,
                    "committedDate": (self.now + timedelta(days=days, minutes=13)).isoformat(),
                    "requestedAt": (self.now - timedelta(days=1)).isoformat(),
                    "items": items,
                }
            },
        )
        assert answer is not None
        self.orders.append(answer["id"])

    @precondition(lambda self: self.orders)
    @rule(i=st.integers(0, 99), offset=offsets, priority=st.sampled_from([None, "LOW", "HIGH"]))
    def update_order(self, i: int, offset: timedelta, priority: str | None) -> None:
        order = self.read_order(self.orders[i % len(self.orders)])
        change: dict[str, Any] = {"committedDate": (self.now + offset).isoformat()}
        if priority:
            change["priority"] = priority
        self.send(self.h.staff, "updateCustomerOrder", {"id": order["id"], "version": order["version"], "input": change})

    @precondition(lambda self: self.orders)
    @rule(i=st.integers(0, 99), state=st.sampled_from(["HELD", "IN_PROGRESS", "PENDING", "FAILED"]))
    def change_order_state(self, i: int, state: str) -> None:
        self.send(self.h.staff, "changeOrderState", {"id": self.orders[i % len(self.orders)], "state": state, "reason": "model"})

    @precondition(lambda self: self.orders)
    @rule(i=st.integers(0, 99))
    def cancel_order(self, i: int) -> None:
        self.send(self.h.staff, "cancelCustomerOrder", {"id": self.orders[i % len(self.orders)], "reason": "model cancels"})

    @precondition(lambda self: self.orders)
    @rule(i=st.integers(0, 99), force=st.booleans())
    def complete_order(self, i: int, force: bool) -> None:
        oid = self.orders[i % len(self.orders)]
        answer = self.send(
            self.h.staff, "completeCustomerOrder", {"id": oid, "force": force, "reason": "model completes" if force else None}
        )
        if answer is not None and force:
            self.forced.add(oid)

    @precondition(lambda self: self.orders)
    @rule(i=st.integers(0, 99), level=st.integers(0, 3))
    def escalate_order(self, i: int, level: int) -> None:
        self.send(
            self.h.staff, "escalateCustomerOrder", {"id": self.orders[i % len(self.orders)], "level": level, "reason": "model"}
        )

    # ---- staff: activities and service orders ----
    @precondition(lambda self: self.orders)
    @rule(
        i=st.integers(0, 99),
        item=st.integers(0, 9),
        start=offsets,
        length=st.integers(1, 240),
        after_previous=st.booleans(),
        waits_on_party=st.booleans(),
    )
    def schedule_activity(
        self, i: int, item: int, start: timedelta, length: int, after_previous: bool, waits_on_party: bool
    ) -> None:
        order = self.read_order(self.orders[i % len(self.orders)])
        items = order["allItems"]
        data: dict[str, Any] = {
            "kind": "work",
            "plannedStart": (self.now + start).isoformat(),
            "plannedEnd": (self.now + start + timedelta(hours=length)).isoformat(),
        }
        if items and item < len(items):
            data["itemId"] = items[item]["id"]
        if after_previous and order["activities"]:
            data["predecessorIds"] = [order["activities"][-1]["id"]]
        if waits_on_party and order["partyOrders"]:
            data["waitsOnPartyOrderIds"] = [order["partyOrders"][-1]["id"]]
            event("an activity waits on a party order")
        answer = self.send(self.h.staff, "scheduleActivity", {"orderId": order["id"], "input": data})
        if answer is not None:
            self.activities.append((order["id"], answer["id"]))

    @precondition(lambda self: self.activities)
    @rule(i=st.integers(0, 99), start=offsets, length=st.integers(1, 240))
    def reschedule_activity(self, i: int, start: timedelta, length: int) -> None:
        _, aid = self.activities[i % len(self.activities)]
        self.send(
            self.h.staff,
            "rescheduleActivity",
            {
                "id": aid,
                "plannedStart": (self.now + start).isoformat(),
                "plannedEnd": (self.now + start + timedelta(hours=length)).isoformat(),
            },
        )

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99), j=st.integers(0, 99), start=offsets, try_start=st.booleans())
    def wait_on_party_order(self, i: int, j: int, start: timedelta, try_start: bool) -> None:
        """An activity of the party order's customer order waits on it (a new one when the order has
        none); ``try_start``: staff then try to start it."""
        oid, poid, _ = self.party_orders[i % len(self.party_orders)]
        event("an activity waits on a party order")
        ours = [a for o, a in self.activities if o == oid]
        if ours:
            aid: str | None = ours[j % len(ours)]
            self.send(self.h.staff, "rescheduleActivity", {"id": aid, "waits": [poid]})
        else:
            data = {
                "kind": "install",
                "plannedStart": (self.now + start).isoformat(),
                "plannedEnd": (self.now + start + timedelta(hours=8)).isoformat(),
                "waitsOnPartyOrderIds": [poid],
            }
            answer = self.send(self.h.staff, "scheduleActivity", {"orderId": oid, "input": data})
            aid = answer["id"] if answer is not None else None
            if aid is not None:
                self.activities.append((oid, aid))
        if try_start and aid is not None:
            self.progress(oid, aid, "IN_PROGRESS", None)

    @precondition(lambda self: self.activities)
    @rule(
        i=st.integers(0, 99),
        state=st.sampled_from([None, "IN_PROGRESS", "COMPLETED", "HELD", "CANCELLED", "FAILED"]),
        expected=st.one_of(st.none(), offsets),
    )
    def activity_progress(self, i: int, state: str | None, expected: timedelta | None) -> None:
        oid, aid = self.activities[i % len(self.activities)]
        self.progress(oid, aid, state, expected)

    def progress(self, oid: str, aid: str, state: str | None, expected: timedelta | None) -> None:
        order = self.read_order(oid)
        activity = next(a for a in order["activities"] if a["id"] == aid)
        data: dict[str, Any] = {"percentComplete": 50}
        if state:
            data["state"] = state
        if expected is not None:
            data["expectedEnd"] = (self.now + expected).isoformat()
        # An activity cannot start while a party order it waits on has neither delivered nor been dropped.
        held = state == "IN_PROGRESS" and activity["state"] != "IN_PROGRESS" and bool(undelivered(activity, order))
        body = self.h.run(self.h.staff.send(MUTATIONS["recordActivityProgress"], {"id": aid, "input": data}))
        if held:
            event("a start refused: a party order it waits on has not delivered")
            assert body.get("errors") and body["errors"][0]["extensions"]["code"] == "INVALID_TRANSITION", (body, order)
            assert self.read_order(oid) == order
        elif body.get("errors"):
            assert body["errors"][0].get("extensions", {}).get("code") in EXPECTED_REFUSALS, (data, body["errors"])
        else:
            self.check_answer("recordActivityProgress", body["data"]["recordActivityProgress"])

    @precondition(lambda self: self.orders)
    @rule(i=st.integers(0, 99))
    def generate_requests(self, i: int) -> None:
        oid = self.orders[i % len(self.orders)]
        body = self.h.run(self.h.staff.send(MUTATIONS["generateServiceOrderRequests"], {"orderId": oid}))
        if not body.get("errors"):
            self.requests += [(oid, r["id"]) for r in body["data"]["generateServiceOrderRequests"]]

    @precondition(lambda self: self.requests)
    @rule(i=st.integers(0, 99), state=st.sampled_from(["IN_PROGRESS", "COMPLETED", "REJECTED", "CANCELLED", "HELD"]))
    def update_request(self, i: int, state: str) -> None:
        _, rid = self.requests[i % len(self.requests)]
        self.send(self.h.staff, "updateServiceOrderRequest", {"id": rid, "state": state})

    # ---- staff: party orders ----
    @precondition(lambda self: self.orders)
    @rule(i=st.integers(0, 99), needed=st.one_of(st.none(), offsets))
    def requisition(self, i: int, needed: timedelta | None) -> None:
        oid = self.orders[i % len(self.orders)]
        data: dict[str, Any] = {"orderId": oid}
        if needed is not None:
            data["neededBy"] = (self.now + needed).isoformat()
        body = self.h.run(self.h.staff.send(MUTATIONS["requestPartyOrders"], {"input": data}))
        if body.get("errors"):
            assert body["errors"][0]["extensions"]["code"] in EXPECTED_REFUSALS, body
            return
        for po in body["data"]["requestPartyOrders"]:
            self.check_answer("requestPartyOrders", po)
            self.party_orders.append((oid, po["id"], po["partyId"]))

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99), expected=offsets)
    def update_party_order(self, i: int, expected: timedelta) -> None:
        _, poid, _ = self.party_orders[i % len(self.party_orders)]
        po = self.h.run(self.h.staff.ok(GET_PO, {"id": poid}))["partyOrder"]
        self.send(
            self.h.staff,
            "updatePartyOrder",
            {"id": poid, "version": po["version"], "input": {"expectedDeliveryDate": (self.now + expected).isoformat()}},
        )

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99), state=st.sampled_from(["HELD", "IN_PROGRESS", "PENDING", "FAILED", "COMPLETED"]))
    def change_party_order_state(self, i: int, state: str) -> None:
        _, poid, _ = self.party_orders[i % len(self.party_orders)]
        self.send(self.h.staff, "changePartyOrderState", {"id": poid, "state": state, "reason": "model"})

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99))
    def cancel_party_order(self, i: int) -> None:
        _, poid, _ = self.party_orders[i % len(self.party_orders)]
        self.send(self.h.staff, "cancelPartyOrder", {"id": poid, "reason": "model cancels"})

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99), level=st.integers(0, 2))
    def escalate_party_order(self, i: int, level: int) -> None:
        _, poid, _ = self.party_orders[i % len(self.party_orders)]
        self.send(self.h.staff, "escalatePartyOrder", {"id": poid, "level": level, "reason": "model"})

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99), new_date=st.one_of(st.none(), offsets))
    def check_in(self, i: int, new_date: timedelta | None) -> None:
        _, poid, _ = self.party_orders[i % len(self.party_orders)]
        data: dict[str, Any] = {"at": self.now.isoformat(), "withWhom": "desk", "outcome": "called"}
        if new_date is not None:
            data["newExpectedDeliveryDate"] = (self.now + new_date).isoformat()
        self.send(self.h.staff, "recordPartyCheckIn", {"id": poid, "input": data})

    @precondition(lambda self: self.change_requests)
    @rule(i=st.integers(0, 99), accept=st.booleans())
    def resolve_change(self, i: int, accept: bool) -> None:
        self.send(
            self.h.staff,
            "resolvePartyChangeRequest",
            {
                "id": self.change_requests[i % len(self.change_requests)],
                "decision": "ACCEPT" if accept else "REJECT",
                "note": "model",
            },
        )

    # ---- partners ----
    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99), days=offsets)
    def acknowledge(self, i: int, days: timedelta) -> None:
        _, poid, party = self.party_orders[i % len(self.party_orders)]
        self.send(
            self.h.partners[party],
            "acknowledgePartyOrder",
            {
                "id": poid,
                "key": self.key(),
                "input": {"partyReference": f"P-{poid}", "committedDeliveryDate": (self.now + days).isoformat()},
            },
        )

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99))
    def reject(self, i: int) -> None:
        _, poid, party = self.party_orders[i % len(self.party_orders)]
        self.send(self.h.partners[party], "rejectPartyOrder", {"id": poid, "key": self.key(), "reason": "no capacity"})

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99), percent=st.integers(0, 100), expected=st.one_of(st.none(), offsets))
    def report_progress(self, i: int, percent: int, expected: timedelta | None) -> None:
        _, poid, party = self.party_orders[i % len(self.party_orders)]
        data: dict[str, Any] = {"percentComplete": percent, "note": "model report"}
        if expected is not None:
            data["expectedDeliveryDate"] = (self.now + expected).isoformat()
        self.send(self.h.partners[party], "reportPartyOrderProgress", {"id": poid, "key": self.key(), "input": data})

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99))
    def report_completion(self, i: int) -> None:
        _, poid, party = self.party_orders[i % len(self.party_orders)]
        self.send(self.h.partners[party], "reportPartyOrderCompletion", {"id": poid, "key": self.key()})

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99))
    def confirm_cancellation(self, i: int) -> None:
        _, poid, party = self.party_orders[i % len(self.party_orders)]
        self.send(self.h.partners[party], "confirmPartyOrderCancellation", {"id": poid, "key": self.key()})

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99), proposed=offsets)
    def request_change(self, i: int, proposed: timedelta) -> None:
        _, poid, party = self.party_orders[i % len(self.party_orders)]
        answer = self.send(
            self.h.partners[party],
            "requestPartyOrderChange",
            {
                "id": poid,
                "key": self.key(),
                "input": {
                    "nature": "FORCED",
                    "kind": "DELIVERY_DATE",
                    "reason": "model",
                    "proposedDeliveryDate": (self.now + proposed).isoformat(),
                },
            },
        )
        if answer is not None:
            self.change_requests.append(answer["id"])

    # ---- time and the monitor ----
    # ---- staff: amendments; the party: revisions ----
    @precondition(lambda self: self.orders)
    @rule(
        i=st.integers(0, 99),
        change=st.sampled_from(["add", "addChild", "modify", "remove"]),
        pick=st.integers(0, 9),
        quantity=st.integers(1, 5),
    )
    def amend_order(self, i: int, change: str, pick: int, quantity: int) -> None:
        oid = self.orders[i % len(self.orders)]
        before = self.read_order(oid)
        items = before["allItems"]
        candidates = self.amendment_candidates(before)
        chosen = candidates[pick % len(candidates)]
        if change == "add":
            data: dict[str, Any] = {"add": [{"item": {"productRef": f"ADDED-{pick}", "quantity": quantity}}]}
        elif change == "addChild":
            data = {"add": [{"parentId": chosen["id"], "item": {"productRef": f"CHILD-{pick}", "quantity": quantity}}]}
        elif change == "modify":
            data = {"modify": [{"itemId": chosen["id"], "quantity": quantity + 10}]}
        else:
            data = {"remove": [{"itemId": chosen["id"], "reason": "model removes"}]}
        body = self.h.run(
            self.h.staff.send(MUTATIONS["amendCustomerOrder"], {"id": oid, "version": before["version"], "input": data})
        )
        states = {i["id"]: camel(i["state"]) for i in items}
        checked = self.subtree(before, chosen["id"]) if change == "remove" else [] if change == "add" else [chosen["id"]]
        # A removed item's children that were dropped already go with it as they are.
        checked = [t for t in checked if t == chosen["id"] or states[t] not in ("cancelled", "rejected", "failed")]
        blocked = [t for t in checked if states[t] not in OPEN_ORDER]  # the amendable item states are the open order states
        done = {u["item"] for u in units(before) if u["done"]} & (set(checked) if change != "addChild" else set())
        if body.get("errors"):
            code = body["errors"][0]["extensions"]["code"]
            assert code in EXPECTED_REFUSALS, body["errors"]
            # A refused amendment changes nothing; a point of no return is a reason to refuse.
            assert self.read_order(oid) == before, body["errors"]
            if code == "AMENDMENT_NOT_ALLOWED":
                assert blocked or done, (body["errors"], before)
            return
        answer = body["data"]["amendCustomerOrder"]
        self.check_answer("amendCustomerOrder", answer)
        # No change after a point of no return: what was accepted touched no item with done work, nor a closed one.
        assert not done and not blocked, (data, before)
        self.revisions[oid] = self.revisions.get(oid, 0) + 1
        assert answer["revision"] == self.revisions[oid]

    def amendment_candidates(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        return order["allItems"]

    def subtree(self, order: dict[str, Any], item_id: str) -> list[str]:
        kids = [i["id"] for i in order["allItems"] if i["parentId"] == item_id]
        return [item_id, *(k for kid in kids for k in self.subtree(order, kid))]

    @precondition(lambda self: self.party_orders)
    @rule(i=st.integers(0, 99), accept=st.booleans())
    def answer_revision(self, i: int, accept: bool) -> None:
        _, poid, pid = self.party_orders[i % len(self.party_orders)]
        po = self.h.run(self.h.staff.ok(GET_PO, {"id": poid}))["partyOrder"]
        open_revisions = [r["revision"] for r in po["revisions"] if r["state"] == "open"]
        if not open_revisions:
            return
        variables: dict[str, Any] = {"id": poid, "revision": open_revisions[-1], "key": self.key()}
        if accept:
            self.send(self.h.partners[pid], "acknowledgePartyOrderRevision", variables)
        else:
            self.send(self.h.partners[pid], "rejectPartyOrderRevision", {**variables, "reason": "model rejects"})

    @rule(hours=st.integers(1, 24 * 20), seconds=st.integers(0, 59))
    def advance_clock(self, hours: int, seconds: int) -> None:
        self.h.clock.advance(timedelta(hours=hours, seconds=seconds))
        self.fresh_levels = False

    @rule()
    def sweep(self) -> None:
        result = self.h.run(self.h.monitor.sweep())
        assert result.led
        self.fresh_levels = True

    # ---- what must hold after every step ----
    @invariant()
    def revision_counts_the_accepted_amendments(self) -> None:
        for oid in self.orders:
            assert self.read_order(oid)["revision"] == self.revisions.get(oid, 0)

    @invariant()
    def every_order_tells_the_truth(self) -> None:
        now = self.now
        for oid in self.orders:
            self.check_order(self.read_order(oid), now)
        report = self.h.run(audit(self.h.db))
        assert report.ok, report.problems

    def check_order(self, order: dict[str, Any], now: datetime) -> None:
        state = camel(order["state"])
        assert state is not None
        items = {i["id"]: i for i in order["allItems"]}
        work = units(order)
        # Closed rows are in no jeopardy and escalated no more.
        if state in CLOSED_ORDER:
            assert (order["jeopardyLevel"], order["escalationLevel"]) == ("NONE", 0), order
        for a in order["activities"]:
            if camel(a["state"]) in CLOSED_ACTIVITY or state not in OPEN_ORDER:
                assert a["jeopardyLevel"] == "NONE", a
        for po in order["partyOrders"]:
            if camel(po["state"]) in CLOSED_PO:
                assert (po["jeopardyLevel"], po["escalationLevel"]) == ("NONE", 0), po
            elif state not in CLOSED_ORDER:
                # An open party order is needed by the committed date at the latest.
                assert when(po["neededBy"]) <= when(order["committedDate"]), (po, order["committedDate"])
        if state in CLOSED_ORDER:
            self.check_forced_completion(order, items)
            return
        # Items are the roll-up of their work; children first.
        kids: dict[str | None, list[str]] = {}
        for item in order["allItems"]:
            kids.setdefault(item["parentId"], []).append(camel(item["state"]))
        for item in order["allItems"]:
            own = [u for u in work if u["item"] == item["id"]]
            wanted = expected_item(camel(item["state"]), own, kids.get(item["id"], []), item["fulfillment"] == "PARTY")
            assert camel(item["state"]) == wanted, (item, own, order)
        # The order completes exactly when all its items are closed and something was done.
        finished = all(camel(i["state"]) in CLOSED_ITEM for i in items.values()) and any(
            i["state"] == "COMPLETED" for i in items.values()
        )
        if state in ("acknowledged", "inProgress", "pending"):
            assert not finished, order
        if state == "acknowledged":
            assert not any(u["done"] or (u["started"] and not u["dropped"]) for u in work), order
            # Removed items (cancelled, or waiting for their party to confirm) say nothing of work having started.
            assert all(i["state"] in ("ACKNOWLEDGED", "CANCELLED", "PENDING_CANCELLATION") for i in items.values()), order
        if state == "pendingCancellation":
            assert any(po["state"] == "PENDING_CANCELLATION" for po in order["partyOrders"]), order
        # Expected completion is the critical path of the work.
        expected = critical_path(order)
        assert when(order["expectedCompletion"]) == expected, (order["expectedCompletion"], expected, order)
        self.check_forced_completion(order, items)
        if not self.fresh_levels:
            return
        # Stored jeopardy levels are what the rules give now.
        if state in OPEN_ORDER:
            assert camel(order["jeopardyLevel"]) in order_level(order, now), (order_level(order, now), order)
            acts = {a["id"]: a for a in order["activities"]}
            for a in order["activities"]:
                if camel(a["state"]) not in CLOSED_ACTIVITY:
                    assert camel(a["jeopardyLevel"]) in activity_level(a, acts, order, now), (
                        activity_level(a, acts, order, now),
                        a,
                        order,
                    )
        else:
            assert order["jeopardyLevel"] == "NONE", order
        for po in order["partyOrders"]:
            if camel(po["state"]) in ACTIVE_PO:
                assert camel(po["jeopardyLevel"]) in party_order_level(po, now), (party_order_level(po, now), po, now)
            else:
                assert po["jeopardyLevel"] == "NONE", po

    def check_forced_completion(self, order: dict[str, Any], items: dict[str, dict[str, Any]]) -> None:
        """A party item is completed only by a delivery, or by a forced completion of its order."""
        delivered = {line["itemId"] for po in order["partyOrders"] if po["state"] == "COMPLETED" for line in po["lines"]}
        for item in items.values():
            if item["fulfillment"] == "PARTY" and item["state"] == "COMPLETED" and item["id"] not in delivered:
                assert order["id"] in self.forced, (item, order)


def run_model(
    loop: asyncio.AbstractEventLoop,
    db: Database,
    machine: type[OrderModel] | None = None,
    examples: int = EXAMPLES,
    steps: int = STEPS,
) -> None:
    global HARNESS
    HARNESS = Harness(loop, db)
    HARNESS.run(HARNESS.start())
    try:
        run_state_machine_as_test(
            machine or OrderModel,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                derandomize=not os.environ.get("ORDERTRACK_MODEL_EXAMPLES"),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
            ),
        )
    finally:
        HARNESS.run(HARNESS.stop())
        HARNESS = None


def test_random_staff_and_partner_work_never_leaves_an_order_lying_on_sqlite(tmp_path: Any) -> None:
    loop = asyncio.new_event_loop()
    try:
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/model.db")
        loop.run_until_complete(db.create_all())
        try:
            run_model(loop, db)
        finally:
            loop.run_until_complete(db.dispose())
    finally:
        loop.close()


def test_random_staff_and_partner_work_never_leaves_an_order_lying_on_postgresql(pg_schema: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        db = Database(PG_URL, schema=pg_schema, pool_size=3)
        loop.run_until_complete(empty_postgres(db))
        try:
            run_model(loop, db)
        finally:
            loop.run_until_complete(db.dispose())
    finally:
        loop.close()
