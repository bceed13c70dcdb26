"""Hand-written abuse: wrong types, control characters and odd unicode, very long strings, huge
variables, dates at the edges of the calendar. Each is answered with a coded error (never INTERNAL)
and leaves the database as it was, or is accepted and stored exactly."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from app.audit import audit
from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import CREATE, SCHEDULE, create_order, get_order, order_input
from tests.security_helpers import log_position, post

NOTE = "mutation($id: ID!, $t: String!) { addOrderNote(orderId: $id, text: $t) { id text } }"
UPDATE = "mutation($id: ID!, $v: Int!, $input: UpdateCustomerOrderInput!) { updateCustomerOrder(id: $id, version: $v, input: $input) { version } }"

NASTY_TEXT = [
    "nul \x00 byte",
    "bell \x07",
    "escape \x1b[31mred",
    "delete \x7f",
    "x" * 100_000,
]
GOOD_TEXT = [
    "Zoë Ünïcödé 北京 🚀🙂",
    "مرحبا بالعالم",
    "a\u0301 combining",
    "‮right-to-left override",  # noqa: PLE2502  a right-to-left override on purpose: hostile text must be stored as given
    "tab\tand\nnewline",
    "'; DROP TABLE customer_order; --",
]


async def refused_without_change(
    api: Api, db: Database, query: str, variables: dict[str, Any], codes: set[str] | None = None
) -> str:
    before = await log_position(db)
    body = await api.send(query, variables)
    assert body.get("errors"), f"accepted: {str(variables)[:200]}"
    code = body["errors"][0]["extensions"]["code"]
    assert code != "INTERNAL", body
    if codes:
        assert code in codes, body
    assert await log_position(db) == before
    return code


async def test_control_characters_lone_surrogates_and_huge_text_are_refused(staff: Api, clock: FrozenClock, db: Database) -> None:
    order = await create_order(staff, clock.now())
    for text in NASTY_TEXT:
        await refused_without_change(staff, db, NOTE, {"id": order["id"], "t": text}, {"INVALID_INPUT"})


async def test_unicode_text_is_stored_exactly(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    for text in GOOD_TEXT:
        assert (await staff.ok(NOTE, {"id": order["id"], "t": text}))["addOrderNote"]["text"] == text.strip()


STRING_FIELDS = ["salesRequestRef", "customerId", "customerName", "description"]


@pytest.mark.parametrize("bad", ["\x00", "x" * 5000], ids=["nul", "long"])
async def test_every_text_field_of_a_new_order_refuses_bad_text(bad: str, staff: Api, clock: FrozenClock, db: Database) -> None:
    now = clock.now()
    cases: list[dict[str, Any]] = [order_input(now, **{name: f"v{bad}"}) for name in STRING_FIELDS]
    cases.append(order_input(now, items=[{"productRef": f"P{bad}"}]))
    cases.append(order_input(now, items=[{"productRef": "P", "characteristics": [{"name": f"n{bad}", "value": "v"}]}]))
    cases.append(order_input(now, characteristics=[{"name": "speed", "value": f"v{bad}"}]))
    cases.append(order_input(now, contacts=[{"name": "Ann", "email": f"a{bad}@x.test", "phone": "1", "role": "r"}]))
    cases.append(order_input(now, contacts=[{"name": "Ann", "phone": f"1{bad}"}]))
    for variables in cases:
        await refused_without_change(staff, db, CREATE, {"input": variables}, {"INVALID_INPUT"})


async def test_other_mutations_refuse_bad_text(staff: Api, clock: FrozenClock, db: Database) -> None:
    order = await create_order(staff, clock.now())
    now = clock.now()
    for bad in ("\x00", "y" * 5000):
        window = {
            "kind": f"k{bad}",
            "plannedStart": (now + timedelta(days=1)).isoformat(),
            "plannedEnd": (now + timedelta(days=2)).isoformat(),
        }
        await refused_without_change(staff, db, SCHEDULE, {"orderId": order["id"], "input": window}, {"INVALID_INPUT"})
        await refused_without_change(
            staff, db, UPDATE, {"id": order["id"], "v": 1, "input": {"customerName": f"n{bad}"}}, {"INVALID_INPUT"}
        )
        reason = "mutation($id: ID!, $r: String!) { cancelCustomerOrder(id: $id, reason: $r) { state } }"
        await refused_without_change(staff, db, reason, {"id": order["id"], "r": f"r{bad}"}, {"INVALID_INPUT"})


async def test_lone_surrogates_are_not_json_we_accept(staff: Api, clock: FrozenClock, db: Database) -> None:
    order = await create_order(staff, clock.now())
    before = await log_position(db)
    for variables in ({"id": order["id"], "t": "half an emoji \ud83d"}, {"id": order["id"], "t": "\udc00 low first"}):
        raw = json.dumps({"query": NOTE, "variables": variables}).encode()  # ASCII escapes: \ud83d travels as text
        response = await post(staff, raw)
        assert response.status_code == 400, response.text
    assert await log_position(db) == before
    whole = json.dumps({"query": NOTE, "variables": {"id": order["id"], "t": "whole emoji \U0001f600"}}).encode()
    assert (await post(staff, whole)).json()["data"]["addOrderNote"]["text"] == "whole emoji \U0001f600"


async def test_wrong_types_are_refused_by_the_schema(staff: Api, clock: FrozenClock, db: Database) -> None:
    order = await create_order(staff, clock.now())
    wrong: list[tuple[str, dict[str, Any]]] = [
        (UPDATE, {"id": order["id"], "v": "one", "input": {"priority": "HIGH"}}),
        (UPDATE, {"id": order["id"], "v": 1.5, "input": {"priority": "HIGH"}}),
        (UPDATE, {"id": order["id"], "v": 2**40, "input": {"priority": "HIGH"}}),
        (UPDATE, {"id": order["id"], "v": 1, "input": {"priority": "URGENT"}}),
        (UPDATE, {"id": order["id"], "v": 1, "input": {"priority": "HIGH", "owner": "me"}}),
        (UPDATE, {"id": {"$gt": 0}, "v": 1, "input": {"priority": "HIGH"}}),
        (UPDATE, {"id": [order["id"]], "v": 1, "input": {"priority": "HIGH"}}),
        (UPDATE, {"id": None, "v": 1, "input": {"priority": "HIGH"}}),
        (UPDATE, {"id": "-1", "v": 1, "input": {"priority": "HIGH"}}),
        (UPDATE, {"id": "1e3", "v": 1, "input": {"priority": "HIGH"}}),
        (UPDATE, {"id": "99999999999999999999999", "v": 1, "input": {"priority": "HIGH"}}),
        (UPDATE, {"id": "١٢", "v": 1, "input": {"priority": "HIGH"}}),  # Arabic-Indic digits
        (UPDATE, {"id": order["id"], "v": 1, "input": "priority=HIGH"}),
        (NOTE, {"id": order["id"], "t": 42}),
        (NOTE, {"id": order["id"], "t": ["a", "b"]}),
        (NOTE, {"id": order["id"]}),
    ]
    for query, variables in wrong:
        await refused_without_change(staff, db, query, variables, {"INVALID_INPUT", "GRAPHQL_VALIDATION_FAILED"})
    assert (await get_order(staff, order["id"]))["version"] == 1


async def test_huge_and_deeply_nested_variables_are_refused(staff: Api, clock: FrozenClock, db: Database) -> None:
    now = clock.now()
    many_items = order_input(now, items=[{"productRef": f"P{i}"} for i in range(5000)])
    await refused_without_change(staff, db, CREATE, {"input": many_items}, {"INVALID_INPUT"})
    nested: dict[str, Any] = {"productRef": "leaf"}
    for i in range(300):
        nested = {"productRef": f"level{i}", "children": [nested]}
    await refused_without_change(
        staff, db, CREATE, {"input": order_input(now, items=[nested])}, {"INVALID_INPUT"}
    )  # graphql-core: nested too deeply
    characteristics = [{"name": f"c{i}", "value": "v"} for i in range(5000)]
    await refused_without_change(
        staff, db, CREATE, {"input": order_input(now, characteristics=characteristics)}, {"INVALID_INPUT"}
    )
    contacts = [{"name": f"n{i}"} for i in range(1000)]
    await refused_without_change(staff, db, CREATE, {"input": order_input(now, contacts=contacts)}, {"INVALID_INPUT"})
    junk = {"input": order_input(now), **{f"unused{i}": "z" * 100 for i in range(1000)}}  # ~100 kB of unused variables
    body = await staff.send(CREATE, junk)
    assert not body.get("errors") or body["errors"][0]["extensions"]["code"] != "INTERNAL"


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+14:00",  # before the first representable UTC instant
        "9999-12-31T23:59:59-14:00",  # after the last one
        "9999-12-31T23:59:59.999999+00:00",
        "2030-01-01T00:00:00",  # no time zone
        "2030-02-30T00:00:00Z",
        "2030-01-01",
        "10000-01-01T00:00:00Z",
        "now",
        "",
    ],
)
async def test_dates_at_the_limits_never_break_anything(when: str, staff: Api, clock: FrozenClock, db: Database) -> None:
    order = await create_order(staff, clock.now())
    for query, variables in [
        (CREATE, {"input": order_input(clock.now(), committedDate=when)}),
        (UPDATE, {"id": order["id"], "v": 1, "input": {"committedDate": when}}),
        (
            SCHEDULE,
            {"orderId": order["id"], "input": {"kind": "install", "plannedStart": clock.now().isoformat(), "plannedEnd": when}},
        ),
        ("query($d: DateTime) { customerOrders(first: 5, filter: {committedFrom: $d}) { edges { cursor } } }", {"d": when}),
    ]:
        body = await staff.send(query, variables)
        for error in body.get("errors") or []:
            assert error["extensions"]["code"] != "INTERNAL", (when, query[:40], body)
    report = await audit(db)
    assert report.ok, report.problems
    await get_order(staff, order["id"])  # still readable
    await staff.ok(
        "{ customerOrders(first: 100) { edges { node { committedDate expectedCompletion activities { plannedEnd } } } } }"
    )
