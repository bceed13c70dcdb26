"""Fifty people change the same order at once from the same version: one wins, 49 get CONFLICT."""

from __future__ import annotations

import asyncio

from app.audit import audit
from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import create_order, get_order

UPDATE = "mutation($id: ID!, $v: Int!, $name: String!) { updateCustomerOrder(id: $id, version: $v, input: {customerName: $name}) { version customerName } }"


async def test_fifty_concurrent_updates_from_one_version_have_exactly_one_winner(
    staff: Api, clock: FrozenClock, db: Database
) -> None:
    order = await create_order(staff, clock.now())
    bodies = await asyncio.gather(
        *(staff.send(UPDATE, {"id": order["id"], "v": order["version"], "name": f"Buyer {i}"}) for i in range(50))
    )
    winners = [b["data"]["updateCustomerOrder"] for b in bodies if not b.get("errors")]
    codes = [b["errors"][0]["extensions"]["code"] for b in bodies if b.get("errors")]
    assert len(winners) == 1, codes
    assert codes == ["CONFLICT"] * 49
    assert all(b["errors"][0]["extensions"]["current_version"] == 2 for b in bodies if b.get("errors"))
    now = await get_order(staff, order["id"])
    assert now["version"] == 2 and now["customerName"] == winners[0]["customerName"]
    timeline = await staff.ok(
        "query($id: ID!) { orderTimeline(orderId: $id, first: 100) { edges { node { type } } } }", {"id": order["id"]}
    )
    assert [e["node"]["type"] for e in timeline["orderTimeline"]["edges"]].count("orderUpdated") == 1
    report = await audit(db)
    assert report.ok, report.problems
