"""Staff take a customer order from a sales request, and read it back with its whole tree."""

from __future__ import annotations

from datetime import timedelta

from app.clock import FrozenClock
from tests.api import Api
from tests.factories import CREATE, create_order, get_order, order_input


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


async def test_a_wrong_token_is_refused(http: object, clock: FrozenClock) -> None:
    api = Api(http, "otk_not-a-real-token")  # type: ignore[arg-type]
    error = await api.error("{ me { name } }")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_committed_date_in_the_past_is_refused(staff: Api, clock: FrozenClock) -> None:
    past = (clock.now() - timedelta(days=1)).isoformat()
    error = await staff.error(CREATE, {"input": order_input(clock.now(), committedDate=past)})
    assert error["extensions"] == {"code": "INVALID_INPUT", "field": "committedDate"}
