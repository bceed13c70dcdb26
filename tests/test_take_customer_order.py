"""Staff take a customer order from a sales request, and read it back with its whole tree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from app.auth import ApiToken, hash_token
from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import CREATE, create_order, get_order, order_input
from tests.fingerprint import fingerprint


async def test_staff_create_an_order_with_its_item_tree(staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now(), priority="HIGH")
    assert order["state"] == "ACKNOWLEDGED"
    assert order["priority"] == "HIGH"
    assert order["version"] == 1
    assert [i["productRef"] for i in order["items"]] == ["FIBRE-1G", "IP-BLOCK"]
    assert [c["productRef"] for c in order["items"][0]["children"]] == ["ROUTER-X"]
    assert order["items"][0]["children"][0]["parentId"] == order["items"][0]["id"]
    assert order["contacts"] == [{"name": "Ada Buyer", "role": "buyer", "email": "ada@acme.test", "phone": None}]
    again = await get_order(staff, order["id"])
    assert again == order


async def test_the_same_sales_request_makes_no_second_order(staff: Api, clock: FrozenClock) -> None:
    first = await create_order(staff, clock.now(), salesRequestRef="SR-DUP")
    error = await staff.error(CREATE, {"input": order_input(clock.now(), salesRequestRef="SR-DUP")})
    assert error["extensions"]["code"] == "CONFLICT"
    assert first["id"] in error["message"]


async def test_a_viewer_reads_but_cannot_create(viewer: Api, staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    assert (await get_order(viewer, order["id"]))["id"] == order["id"]
    assert await viewer.code(CREATE, {"input": order_input(clock.now())}) == "FORBIDDEN"


async def test_nobody_signed_in_is_refused(anonymous: Api, clock: FrozenClock) -> None:
    assert await anonymous.code(CREATE, {"input": order_input(clock.now())}) == "UNAUTHENTICATED"
    assert await anonymous.code("{ customerOrders { edges { node { id } } } }") == "UNAUTHENTICATED"


async def test_a_wrong_token_is_refused(http: httpx.AsyncClient, clock: FrozenClock) -> None:
    api = Api(http, "otk_not-a-real-token")
    error = await api.error("{ me { name } }")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_committed_date_in_the_past_is_refused(staff: Api, clock: FrozenClock) -> None:
    past = (clock.now() - timedelta(days=1)).isoformat()
    error = await staff.error(CREATE, {"input": order_input(clock.now(), committedDate=past)})
    assert error["extensions"] == {"code": "INVALID_INPUT", "field": "committedDate"}


async def test_bad_orders_are_refused_and_change_nothing(staff: Api, db: Database, clock: FrozenClock) -> None:
    now = clock.now()
    before = await fingerprint(db)
    deep: dict = {"productRef": "L1"}
    node = deep
    for level in range(2, 8):
        node["children"] = [{"productRef": f"L{level}"}]
        node = node["children"][0]
    cases: dict[str, dict[str, Any]] = {
        "negative quantity": {"items": [{"productRef": "X", "quantity": -2}]},
        "zero quantity": {"items": [{"productRef": "X", "quantity": 0}]},
        "no items": {"items": []},
        "too many items": {"items": [{"productRef": f"P{n}"} for n in range(251)]},
        "items nested too deep": {"items": [deep]},
        "a child with a bad quantity": {"items": [{"productRef": "X", "children": [{"productRef": "Y", "quantity": -1}]}]},
        "an internal item naming a party": {"items": [{"productRef": "X", "partyId": "3"}]},
        "committed before the request": {
            "requestedAt": (now - timedelta(days=2)).isoformat(),
            "committedDate": (now - timedelta(days=3)).isoformat(),
        },
        "request in the future": {"requestedAt": (now + timedelta(days=1)).isoformat()},
        "committed date without a time zone": {"committedDate": "2027-06-01T10:00:00"},
        "empty reference": {"salesRequestRef": "  "},
        "reference too long": {"salesRequestRef": "R" * 65},
        "customer name with control characters": {"customerName": "Acme\x00Ltd"},
        "contact without a name": {"contacts": [{"name": ""}]},
        "bad e-mail": {"contacts": [{"name": "A", "email": "a b@c"}]},
        "characteristic without a name": {"characteristics": [{"name": " ", "value": "v"}]},
    }
    for label, change in cases.items():
        error = await staff.error(CREATE, {"input": order_input(now, **change)})
        assert error["extensions"]["code"] == "INVALID_INPUT", label
        assert error["message"], label
    assert await fingerprint(db) == before


async def test_wrong_types_are_refused_by_the_schema(staff: Api, db: Database, clock: FrozenClock) -> None:
    before = await fingerprint(db)
    body = await staff.send(CREATE, {"input": order_input(clock.now(), items=[{"productRef": "X", "quantity": "many"}])})
    assert body["errors"] and body.get("data") is None
    body = await staff.send(CREATE, {"input": order_input(clock.now(), committedDate="next tuesday")})
    assert body["errors"] and body.get("data") is None
    assert await fingerprint(db) == before


async def test_tokens_are_stored_only_as_hashes(db: Database, staff: Api) -> None:
    async with db.read() as session:
        stored = (await session.execute(select(col(ApiToken.token_hash)))).scalars().all()
    assert staff.token not in stored
    assert hash_token(staff.token or "") in stored
