"""The consistency checker finds what it should: gaps, missing creations, rows that disagree with their events."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlmodel import col

from app.audit import audit
from app.clock import FrozenClock
from app.db import Database
from app.events import Event
from app.orders.models import CustomerOrder
from tests.api import Api
from tests.factories import create_order

UPDATE = (
    "mutation($id: ID!, $v: Int!, $p: Priority) { updateCustomerOrder(id: $id, version: $v, input: {priority: $p}) { version } }"
)
STATE = "mutation($id: ID!) { changeOrderState(id: $id, state: IN_PROGRESS) { state } }"


async def test_a_log_written_through_the_api_is_consistent(staff: Api, clock: FrozenClock, db: Database) -> None:
    order = await create_order(staff, clock.now())
    await staff.ok(UPDATE, {"id": order["id"], "v": 1, "p": "HIGH"})
    await staff.ok(STATE, {"id": order["id"]})
    report = await audit(db)
    assert report.ok, report.problems
    assert report.orders == 1 and report.events == report.last_seq >= 3


async def test_the_audit_finds_a_gap_a_silent_change_and_a_lost_creation(staff: Api, clock: FrozenClock, db: Database) -> None:
    first = await create_order(staff, clock.now())
    second = await create_order(staff, clock.now())
    await staff.ok(UPDATE, {"id": first["id"], "v": 1, "p": "HIGH"})
    async with db.write_session() as session:
        await session.execute(delete(Event).where(col(Event.type) == "orderUpdated"))
        await session.execute(update(CustomerOrder).where(col(CustomerOrder.id) == int(second["id"])).values(state="held"))
        await session.commit()
    problems = "\n".join((await audit(db)).problems)
    assert "gap" in problems
    assert f"order {second['id']}: state is 'held'" in problems
    assert f"order {first['id']}: priority" in problems
    async with db.write_session() as session:
        await session.execute(delete(Event).where(col(Event.type) == "orderCreated", col(Event.order_id) == int(first["id"])))
        await session.commit()
    assert f"order {first['id']} has 0 orderCreated events" in "\n".join((await audit(db)).problems)
