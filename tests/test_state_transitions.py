"""Every state change, whatever moves (order, item, activity, service order request, party order), is
checked against its machine and recorded in one shape: the state before and after, the reason beside them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlmodel import col

from app import migrate
from app.clock import FrozenClock
from app.columns import table_of
from app.db import Database
from app.errors import InvalidTransition
from app.events import Event
from app.orders import states as order_states
from app.party_orders import states as party_states
from app.state_machine import EventScope
from tests.api import Api
from tests.conftest import PG_URL, START, require_service
from tests.factories import create_order, schedule
from tests.party import CANCEL_ORDER, create_party, requisition

TIMELINE = """query($id: ID!) { orderTimeline(orderId: $id, first: 100) { edges { node {
  type entity entityId partyOrderId before after details } } } }"""
GENERATE = "mutation($id: ID!) { generateServiceOrderRequests(orderId: $id) { id } }"
MACHINES = [
    order_states.ORDER,
    order_states.ITEM,
    order_states.ACTIVITY,
    order_states.SERVICE_ORDER_REQUEST,
    party_states.PARTY_ORDER,
]


class Log:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def record(self, type: str, **fields: Any) -> None:
        self.events.append({"type": type, **fields})


class Row:
    def __init__(self, state: str) -> None:
        self.state = state


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_a_refused_move_changes_nothing_and_records_nothing(machine: Any) -> None:
    final = sorted(machine.terminal)[0]
    row, log = Row(final), Log()
    with pytest.raises(InvalidTransition):
        machine.transition(log, row, machine.initial, EventScope(1, 1), reason="try")
    assert (row.state, log.events) == (final, [])


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_an_allowed_move_sets_the_state_and_records_the_machines_event(machine: Any) -> None:
    target = machine.allowed(machine.initial)[0]
    row, log = Row(machine.initial), Log()
    left = machine.transition(
        log, row, target, EventScope(7, 3, party_order_id=5, party_id=2), reason="why", details={"forced": True}
    )
    assert (left, row.state) == (machine.initial, target)
    assert log.events == [
        {
            "type": machine.event,
            "entity": machine.entity,
            "entity_id": 7,
            "order_id": 3,
            "party_order_id": 5,
            "party_id": 2,
            "before": {"state": machine.initial},
            "after": {"state": target},
            "data": {"reason": "why", "forced": True},
        }
    ]


async def test_cancelling_an_order_records_every_cascaded_state_change_in_one_shape(staff: Api, clock: FrozenClock) -> None:
    now = clock.now()
    party = await create_party(staff)
    items = [
        {"productRef": "FIBRE-1G", "quantity": 1},
        {"productRef": "DARK-FIBRE", "fulfillment": "PARTY", "partyId": party["id"]},
    ]
    order = await create_order(staff, now, items=items)
    await schedule(staff, order["id"], now)
    await staff.ok(GENERATE, {"id": order["id"]})
    await requisition(staff, order["id"])
    await staff.ok(CANCEL_ORDER, {"id": order["id"], "reason": "sales request withdrawn"})

    edges = (await staff.ok(TIMELINE, {"id": order["id"]}))["orderTimeline"]["edges"]
    moves = [e["node"] for e in edges if e["node"]["type"].endswith("StateChanged")]
    assert {m["type"] for m in moves} == {m.event for m in MACHINES}
    for move in moves:
        assert set(move["before"]) == set(move["after"]) == {"state"}, move
        assert move["after"]["state"] == "cancelled"
        assert move["details"] == {"reason": "sales request withdrawn"}, move


OLD_SHAPE = {"before": {"state": "planned"}, "after": {"state": "cancelled", "reason": "gone"}}
PLAIN = {"before": {"state": "cancelled"}, "after": {"state": "held"}}


@asynccontextmanager
async def migrated_to_0008(backend: str, tmp_path: Path) -> AsyncIterator[tuple[str, str | None]]:
    """An empty database at revision 0008 (before the one shape): its URL and schema."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
        migrate.upgrade(url, revision="0008")
        yield url, None
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    schema = f"ot_shape_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        migrate.upgrade(PG_URL, schema, revision="0008")
        yield PG_URL, schema
    finally:
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_an_activity_state_change_recorded_before_the_one_shape_reads_like_a_new_one(backend: str, tmp_path: Path) -> None:
    async with migrated_to_0008(backend, tmp_path) as (url, schema):
        db = Database(url, schema=schema, pool_size=1)
        try:
            row = {
                "at": START,
                "type": "activityStateChanged",
                "entity": "activity",
                "entity_id": 4,
                "order_id": 2,
                "actor": "ada",
                "actor_role": "staff",
            }
            async with db.engine.begin() as conn:
                await conn.execute(
                    insert(table_of(Event)), [{**row, "seq": 1, "data": OLD_SHAPE}, {**row, "seq": 2, "data": PLAIN}]
                )
            migrate.upgrade(url, schema)
            async with db.read() as session:
                rows = (await session.execute(select(col(Event.data)).order_by(col(Event.seq)))).scalars().all()
            assert list(rows) == [{"before": {"state": "planned"}, "after": {"state": "cancelled"}, "reason": "gone"}, PLAIN]
        finally:
            await db.dispose()
