"""Dashboards list orders by filter and sort, page by cursor, and read an order's timeline."""

from __future__ import annotations

from datetime import timedelta

from app.clock import FrozenClock
from tests.api import Api
from tests.factories import create_order

LIST = """query($filter: CustomerOrderFilter, $sort: OrderSortField!, $direction: SortDirection!, $first: Int!, $after: String) {
  customerOrders(filter: $filter, sort: $sort, direction: $direction, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id salesRequestRef customerId priority state committedDate } }
  }
}"""


async def _list(api: Api, **variables: object) -> dict:
    base = {"sort": "CREATED_AT", "direction": "DESC", "first": 20}
    return (await api.ok(LIST, {**base, **variables}))["customerOrders"]


async def test_pages_walk_every_order_once_in_sort_order(staff: Api, clock: FrozenClock) -> None:
    for days in (40, 10, 30, 20, 50):
        await create_order(staff, clock.now(), committedDate=(clock.now() + timedelta(days=days)).isoformat())
    seen, after = [], None
    while True:
        page = await _list(staff, sort="COMMITTED_DATE", direction="ASC", first=2, after=after)
        assert page["totalCount"] == 5
        seen += [e["node"]["committedDate"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 5 and seen == sorted(seen)


async def test_filters_by_state_customer_priority_dates_and_text(staff: Api, viewer: Api, clock: FrozenClock) -> None:
    now = clock.now()
    a = await create_order(staff, now, customerId="C-1", customerName="Acme", priority="HIGH", salesRequestRef="SR-ACME-1")
    b = await create_order(
        staff, now, customerId="C-2", customerName="Globex", committedDate=(now + timedelta(days=90)).isoformat()
    )
    await staff.ok('mutation($id: ID!) { changeOrderState(id: $id, state: HELD, reason: "wait") { id } }', {"id": b["id"]})

    async def ids(**f: object) -> list[str]:
        return [e["node"]["id"] for e in (await _list(viewer, filter=f))["edges"]]

    assert await ids(states=["HELD"]) == [b["id"]]
    assert await ids(customerId="C-1") == [a["id"]]
    assert await ids(priorities=["HIGH", "CRITICAL"]) == [a["id"]]
    assert await ids(committedFrom=(now + timedelta(days=60)).isoformat()) == [b["id"]]
    assert await ids(committedTo=(now + timedelta(days=60)).isoformat()) == [a["id"]]
    assert await ids(text="acme-") == [a["id"]]
    assert await ids(text="GLOB") == [b["id"]]
    assert await ids(text="100%_") == []
    assert await ids(jeopardyLevels=["NONE"]) == [b["id"], a["id"]]


async def test_sorting_by_priority_puts_critical_first(staff: Api, clock: FrozenClock) -> None:
    for priority in ("LOW", "CRITICAL", "NORMAL", "HIGH"):
        await create_order(staff, clock.now(), priority=priority)
    page = await _list(staff, sort="PRIORITY", direction="DESC")
    assert [e["node"]["priority"] for e in page["edges"]] == ["CRITICAL", "HIGH", "NORMAL", "LOW"]


async def test_page_size_is_capped_and_cursors_are_checked(staff: Api, clock: FrozenClock) -> None:
    await create_order(staff, clock.now())
    assert await staff.code(LIST, {"sort": "CREATED_AT", "direction": "DESC", "first": 101}) == "INVALID_INPUT"
    assert await staff.code(LIST, {"sort": "CREATED_AT", "direction": "DESC", "first": 0}) == "INVALID_INPUT"
    assert await staff.code(LIST, {"sort": "CREATED_AT", "direction": "DESC", "first": 5, "after": "bm9wZQ=="}) == "INVALID_INPUT"
    assert await staff.code(LIST, {"sort": "CREATED_AT", "direction": "DESC", "first": 5, "after": "%%%"}) == "INVALID_INPUT"
    assert len((await _list(staff, first=100))["edges"]) == 1


async def test_the_timeline_reads_the_event_log_in_order_and_resumes_from_a_cursor(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    await staff.ok('mutation($id: ID!) { addOrderNote(orderId: $id, text: "called the customer") { id } }', {"id": order["id"]})
    await staff.ok("mutation($id: ID!) { changeOrderState(id: $id, state: PENDING) { id } }", {"id": order["id"]})
    query = """query($id: ID!, $after: String) { customerOrder(id: $id) { timeline(first: 2, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { sequence type actor actorRole entity } } } } }"""
    first = (await staff.ok(query, {"id": order["id"]}))["customerOrder"]["timeline"]
    assert [e["node"]["type"] for e in first["edges"]] == ["orderCreated", "noteAdded"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await staff.ok(query, {"id": order["id"], "after": first["pageInfo"]["endCursor"]}))["customerOrder"]["timeline"]
    assert [e["node"]["type"] for e in rest["edges"]] == ["orderStateChanged"]
    sequences = [e["node"]["sequence"] for e in first["edges"] + rest["edges"]]
    assert sequences == sorted(sequences)
    assert {e["node"]["actor"] for e in first["edges"]} == {"sam.staff"}
    assert first["edges"][0]["node"]["actorRole"] == "staff"


async def test_an_unknown_order_reads_as_null(viewer: Api) -> None:
    assert (await viewer.ok('{ customerOrder(id: "99999") { id } }'))["customerOrder"] is None
    assert await viewer.code('{ customerOrder(id: "abc") { id } }') == "INVALID_INPUT"
    assert await viewer.code('{ customerOrder(id: "-4") { id } }') == "INVALID_INPUT"
