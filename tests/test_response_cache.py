"""A dashboard asking the same question again gets the stored answer until anything is committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.auth import Actor, Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.graphql.planner import ReadPlanner
from app.graphql.response_cache import ResponseCache, committed_sequence
from app.main import create_app
from app.orders import queries as order_queries, service
from app.party_orders import queries as party_queries
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import create_order
from tests.party import acknowledge, create_party, partner_api, requisition

DASHBOARD = """query Dashboard($first: Int!) {
  customerOrders(first: $first, sort: COMMITTED_DATE, direction: ASC) {
    edges { node { id state priority version notes { text }
      allItems { id productRef state activities { id state } serviceOrderRequest { id } partyOrders { id state } }
    } }
  }
}"""
PARTY_ORDERS = """query($overdue: Boolean) {
  partyOrders(first: 50, filter: {reportOverdue: $overdue}) { edges { node { id partyId } } }
}"""
ADD_NOTE = "mutation($id: ID!, $text: String!) { addOrderNote(orderId: $id, text: $text) { id } }"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.bus_poll_interval_seconds = 3600  # keep the bus's safety-net reads out of statement counts
    return settings


class Calls:
    """Counts how often a domain query behind a resolver runs: a cached answer runs none."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
        self.count = 0
        real = getattr(module, name)

        async def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await real(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)


@pytest.fixture
def page_reads(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """The order page read by either path: the domain's list query (strawberry) or a planned answer."""
    calls = Calls(monkeypatch, order_queries, "list_orders")
    plan = ReadPlanner.plan

    def counted_plan(self: ReadPlanner, *args: Any) -> Any:
        run = plan(self, *args)
        if run is None:
            return None

        async def counted(db: Any) -> Any:
            calls.count += 1
            return await run(db)

        return counted

    monkeypatch.setattr(ReadPlanner, "plan", counted_plan)
    return calls


@pytest.fixture
def party_order_reads(monkeypatch: pytest.MonkeyPatch) -> Calls:
    return Calls(monkeypatch, party_queries, "list_party_orders")


async def statements_of(db: Database, api: Api, query: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    before = db.statements.count
    data = await api.ok(query, variables)
    return db.statements.count - before, data


async def one_sequence_check(db: Database) -> int:
    before = db.statements.count
    await committed_sequence(db)
    return db.statements.count - before


async def test_a_repeated_dashboard_query_is_answered_from_the_cache_with_one_statement(
    staff: Api, viewer: Api, db: Database, clock: FrozenClock, page_reads: Calls
) -> None:
    for _ in range(3):
        await create_order(staff, clock.now())
    first = await viewer.ok(DASHBOARD, {"first": 10})
    assert page_reads.count == 1
    statements, again = await statements_of(db, viewer, DASHBOARD, {"first": 10})
    assert again == first and len(again["customerOrders"]["edges"]) == 3
    assert page_reads.count == 1, "no resolver ran: the page was not read again"
    assert statements == await one_sequence_check(db), "only the event sequence was read"
    await viewer.ok(DASHBOARD, {"first": 2})
    assert page_reads.count == 2, "other variables are another question"


async def test_identical_questions_arriving_together_are_answered_by_one_execution(
    staff: Api, viewer: Api, clock: FrozenClock, page_reads: Calls
) -> None:
    await create_order(staff, clock.now())
    answers = await asyncio.gather(*(viewer.ok(DASHBOARD, {"first": 10}) for _ in range(4)))
    assert page_reads.count == 1
    assert all(answer == answers[0] for answer in answers) and answers[0]["customerOrders"]["edges"]


async def test_a_committed_mutation_makes_the_next_query_fresh(
    staff: Api, viewer: Api, clock: FrozenClock, page_reads: Calls
) -> None:
    order = await create_order(staff, clock.now())
    before = await viewer.ok(DASHBOARD, {"first": 10})
    await viewer.ok(DASHBOARD, {"first": 10})
    await staff.ok(ADD_NOTE, {"id": order["id"], "text": "customer called"})
    after = await viewer.ok(DASHBOARD, {"first": 10})
    assert before["customerOrders"]["edges"][0]["node"]["notes"] == []
    assert after["customerOrders"]["edges"][0]["node"]["notes"] == [{"text": "customer called"}]
    assert page_reads.count == 2


async def test_a_write_by_another_process_makes_the_next_query_fresh(
    staff: Api, viewer: Api, db: Database, clock: FrozenClock
) -> None:
    order = await create_order(staff, clock.now())
    assert (await viewer.ok(DASHBOARD, {"first": 10}))["customerOrders"]["edges"][0]["node"]["notes"] == []
    elsewhere = Database(db.url, schema=db.schema)  # another process: its own engine, no shared memory
    try:
        async with elsewhere.write(Actor("other-worker", Role.STAFF), clock.now()) as uow:
            await service.add_note(uow, int(order["id"]), "written by another process")
    finally:
        await elsewhere.dispose()
    after = await viewer.ok(DASHBOARD, {"first": 10})
    assert after["customerOrders"]["edges"][0]["node"]["notes"] == [{"text": "written by another process"}]


async def test_staff_viewers_and_each_partner_never_share_an_answer(
    staff: Api, viewer: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock, party_order_reads: Calls
) -> None:
    a, b = await create_party(staff), await create_party(staff)
    order = await create_order(
        staff,
        clock.now(),
        items=[
            {"productRef": "A", "fulfillment": "PARTY", "partyId": a["id"]},
            {"productRef": "B", "fulfillment": "PARTY", "partyId": b["id"]},
        ],
    )
    await requisition(staff, order["id"])
    partner_a, partner_b = await partner_api(http, db, clock, a["id"]), await partner_api(http, db, clock, b["id"])

    def parties(data: dict[str, Any]) -> list[str]:
        return sorted(e["node"]["partyId"] for e in data["partyOrders"]["edges"])

    seen = {}
    for name, api in (("staff", staff), ("viewer", viewer), ("partner A", partner_a), ("partner B", partner_b)):
        seen[name] = parties(await api.ok(PARTY_ORDERS, {}))
    assert party_order_reads.count == 4, "each principal's first question ran"
    for name, api in (("partner B", partner_b), ("partner A", partner_a), ("viewer", viewer), ("staff", staff)):
        assert parties(await api.ok(PARTY_ORDERS, {})) == seen[name]
    assert party_order_reads.count == 4, "each got its own stored answer back"
    assert seen == {
        "staff": sorted([a["id"], b["id"]]),
        "viewer": sorted([a["id"], b["id"]]),
        "partner A": [a["id"]],
        "partner B": [b["id"]],
    }

    await viewer.ok(DASHBOARD, {"first": 10})  # stored for viewers
    assert await partner_a.code(DASHBOARD, {"first": 10}) == "FORBIDDEN"


async def test_two_staff_members_asking_who_they_are_get_their_own_names(
    http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    ann = Api(http, await issue_token(db, clock, Role.STAFF, "ann"))
    bob = Api(http, await issue_token(db, clock, Role.STAFF, "bob"))
    for _ in range(2):
        assert (await ann.ok("{ me { name } }"))["me"]["name"] == "ann"
        assert (await bob.ok("{ me { name } }"))["me"]["name"] == "bob"


async def test_answers_with_errors_are_not_kept(staff: Api, viewer: Api, clock: FrozenClock, page_reads: Calls) -> None:
    await create_order(staff, clock.now())
    partly_wrong = '{ customerOrders(first: 5) { edges { node { id } } } customerOrder(id: "not-a-number") { id } }'
    for _ in range(2):
        body = await viewer.send(partly_wrong)
        assert body["data"]["customerOrders"]["edges"] and body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert page_reads.count == 2


async def test_mutations_are_never_answered_from_the_cache(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    first = await staff.ok(ADD_NOTE, {"id": order["id"], "text": "same words"})
    second = await staff.ok(ADD_NOTE, {"id": order["id"], "text": "same words"})
    assert first["addOrderNote"]["id"] != second["addOrderNote"]["id"]


async def test_a_filter_on_the_time_is_answered_fresh_while_the_clock_moves(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock, party_order_reads: Calls
) -> None:
    party = await create_party(staff, hours=24)
    order = await create_order(staff, clock.now(), items=[{"productRef": "A", "fulfillment": "PARTY", "partyId": party["id"]}])
    (po,) = await requisition(staff, order["id"])
    await acknowledge(await partner_api(http, db, clock, party["id"]), po["id"], clock.now())

    async def overdue() -> list[str]:
        return [e["node"]["id"] for e in (await staff.ok(PARTY_ORDERS, {"overdue": True}))["partyOrders"]["edges"]]

    assert await overdue() == []
    clock.advance(timedelta(hours=25))  # nothing is written: only the time passes the report's due date
    assert await overdue() == [po["id"]]
    assert party_order_reads.count == 2
    await staff.ok(PARTY_ORDERS, {})
    await staff.ok(PARTY_ORDERS, {})
    assert party_order_reads.count == 3, "without the time filter the answer depends on stored data only, and is kept"


@pytest.fixture
async def uncached(db: Database, clock: FrozenClock, settings: Settings) -> AsyncIterator[Api]:
    settings.response_cache_size = 0
    application = create_app(settings, db=db, clock=clock)
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://test") as client:
            yield Api(client, await issue_token(db, clock, Role.VIEWER, "no-cache"))


async def test_the_setting_turns_the_cache_off(uncached: Api, page_reads: Calls) -> None:
    for _ in range(3):
        await uncached.ok(DASHBOARD, {"first": 10})
    assert page_reads.count == 3


def test_the_cache_keeps_the_most_recently_used_answers_within_its_bounds() -> None:
    cache = ResponseCache(max_entries=2, max_bytes=10)
    keys = [(f"doc{n}", None, b"{}", "viewer", None) for n in range(3)]
    cache.put(keys[0], 1, "aaa")
    cache.put(keys[1], 1, "bbb")
    assert cache.get(keys[0], 1) == "aaa"  # now the most recent
    cache.put(keys[2], 1, "ccc")
    assert cache.get(keys[1], 1) is None and cache.get(keys[0], 1) == "aaa" and len(cache) == 2
    assert cache.get(keys[0], 2) is None, "an answer from an older sequence is not handed out"
    cache.put(keys[1], 2, "dddddddd")  # 3 + 8 bytes > 10: the least recent goes
    assert len(cache) == 1 and cache.get(keys[1], 2) == "dddddddd"
    cache.put(keys[1], 1, "old")
    assert cache.get(keys[1], 2) == "dddddddd", "a slower request's older answer does not replace a newer one"
