"""Hostile queries are refused before they run: depth, aliases, tokens, page sizes, body size, batches."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from app.auth import Role
from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import create_order
from tests.security_helpers import client_for, log_position, post

DEEP = '{ customerOrder(id: "1") { items { ' + "children { " * 12 + "id" + " }" * 14 + " }"


async def test_a_query_deeper_than_the_limit_is_refused_before_it_runs(staff: Api) -> None:
    error = await staff.error(DEEP)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "depth" in error["message"]


async def test_depth_hidden_in_nested_fragments_is_counted(staff: Api) -> None:
    fragments = "".join(f"fragment F{i} on OrderItem {{ children {{ ...F{i + 1} }} }}\n" for i in range(15))
    query = f'{{ customerOrder(id: "1") {{ items {{ ...F0 }} }} }}\n{fragments}fragment F15 on OrderItem {{ id }}'
    assert await staff.code(query) == "QUERY_TOO_COMPLEX"


async def test_circular_fragments_are_refused_without_recursing_forever(staff: Api) -> None:
    query = """{ customerOrder(id: "1") { items { ...A } } }
    fragment A on OrderItem { children { ...B } }
    fragment B on OrderItem { children { ...A } }"""
    body = await staff.send(query)
    assert body["data"] is None
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes <= {"GRAPHQL_VALIDATION_FAILED", "QUERY_TOO_COMPLEX"}, body
    assert any("within itself" in e["message"] or "depth" in e["message"] for e in body["errors"]), body


async def test_an_alias_flood_is_refused(staff: Api) -> None:
    query = "{ " + " ".join(f"a{i}: me {{ name }}" for i in range(31)) + " }"
    assert await staff.code(query) == "QUERY_TOO_COMPLEX"


async def test_aliases_spread_through_fragments_count_too(staff: Api) -> None:
    # Each fragment holds 10 aliases; spreading it 4 times is 40 aliases, over the limit of 30.
    fragment = "fragment Many on Query { " + " ".join(f"m{i}: me {{ name }}" for i in range(10)) + " }"
    query = "{ ...Many ...Many2 ...Many3 ...Many4 }\n" + "\n".join(
        fragment.replace("Many", name, 1) for name in ("Many", "Many2", "Many3", "Many4")
    )
    assert await staff.code(query) == "QUERY_TOO_COMPLEX"


async def test_too_many_tokens_are_refused(staff: Api) -> None:
    query = "{ me { " + " ".join(["name"] * 4100) + " } }"
    assert await staff.code(query) == "QUERY_TOO_COMPLEX"


async def test_no_list_gives_more_than_a_hundred_rows_at_once(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    cases = [
        ("{ customerOrders(first: 101) { edges { node { id } } } }", {}),
        ("query($n: Int!) { customerOrders(first: $n) { edges { node { id } } } }", {"n": 1000}),
        ('query($n: Int = 500) { orderTimeline(orderId: "1", first: $n) { edges { cursor } } }', {}),
        ("query($id: ID!) { customerOrder(id: $id) { timeline(first: 101) { edges { cursor } } } }", {"id": order["id"]}),
        (
            "query($id: ID!) { customerOrder(id: $id) { ...T } } fragment T on CustomerOrder { timeline(first: 9999) { edges { cursor } } }",
            {"id": order["id"]},
        ),
    ]
    for query, variables in cases:
        error = await staff.error(query, variables)
        assert error["extensions"]["code"] == "INVALID_INPUT", (query, error)
        assert error["extensions"]["max"] == 100
    ok = await staff.ok("{ customerOrders(first: 100) { edges { node { id } } } }")
    assert len(ok["customerOrders"]["edges"]) == 1


async def test_a_smaller_page_size_setting_is_enforced(db: Database, clock: FrozenClock) -> None:
    token = await issue_token(db, clock, Role.STAFF, "s")
    async with client_for(db, clock, max_page_size=10) as http:
        api = Api(http, token)
        assert await api.code("{ customerOrders(first: 11) { edges { cursor } } }") == "INVALID_INPUT"
        await api.ok("{ customerOrders(first: 10) { edges { cursor } } }")


async def test_a_body_over_the_limit_gets_413_with_a_json_error(db: Database, clock: FrozenClock) -> None:
    token = await issue_token(db, clock, Role.STAFF, "s")
    async with client_for(db, clock, max_body_bytes=2000) as http:
        api = Api(http, token)
        before = await log_position(db)
        big = {"query": 'mutation($t: String!) { addOrderNote(orderId: "1", text: $t) { id } }', "variables": {"t": "x" * 5000}}
        response = await post(api, big)
        assert response.status_code == 413
        body = response.json()
        assert body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
        assert body["errors"][0]["extensions"]["maxBytes"] == 2000
        assert response.headers["x-request-id"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit counts what arrives
            for _ in range(10):
                yield b" " * 500

        streamed = await http.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json", "authorization": f"Bearer {token}"}
        )
        assert streamed.status_code == 413
        assert streamed.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
        assert await log_position(db) == before
        assert (await api.ok("{ me { name } }"))["me"]["name"] == "s"


async def test_a_batch_of_operations_is_refused(staff: Api) -> None:
    response = await post(staff, [{"query": "{ me { name } }"}, {"query": "{ me { name } }"}])
    assert response.status_code == 400
    assert "batching" in response.text.lower()


async def test_introspection_and_graphiql_can_be_turned_off(db: Database, clock: FrozenClock) -> None:
    token = await issue_token(db, clock, Role.STAFF, "s")
    html = {"accept": "text/html"}
    async with client_for(db, clock) as http:
        assert "__schema" in json.dumps(await Api(http, token).ok("{ __schema { queryType { name } } }"))
        page = await http.get("/graphql", headers=html)
        assert page.status_code == 200 and "graphiql" in page.text.lower()
    async with client_for(db, clock, introspection=False, graphiql=False) as http:
        api = Api(http, token)
        error = await api.error("{ __schema { queryType { name } } }")
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "introspection" in error["message"].lower()
        assert await api.code('{ __type(name: "CustomerOrder") { name } }') == "GRAPHQL_VALIDATION_FAILED"
        assert (await api.ok("{ me { name } }"))["me"]["name"] == "s"  # __typename and normal queries still work
        page = await http.get("/graphql", headers=html)
        assert "graphiql" not in page.text.lower()


async def test_every_error_has_a_code(staff: Api) -> None:
    for query in ["{ me { nam } }", "{ me { name ", "query($n: Int!) { customerOrders(first: $n) { edges { cursor } } }"]:
        body = await staff.send(query, {"n": "ten"})
        assert all(e["extensions"]["code"] for e in body["errors"]), body
