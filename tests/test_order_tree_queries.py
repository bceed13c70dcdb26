"""Dashboards read whole order trees; the number of SQL statements must not grow with the orders."""

from __future__ import annotations

import pytest

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from tests.api import Api
from tests.factories import create_order, schedule

TREE = """query($first: Int!) {
  customerOrders(first: $first) {
    edges { node {
      id state committedDate expectedCompletion jeopardyLevel
      items { id productRef state
        children { id productRef activities { id } serviceOrderRequest { id state } }
        activities { id kind state predecessorIds }
        serviceOrderRequest { id state }
      }
      activities { id state predecessorIds }
      serviceOrderRequests { id state }
      notes { id text }
    } }
  }
}"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The event bus reads the log every second as a safety net; keep its reads out of the counts."""
    settings.bus_poll_interval_seconds = 3600
    settings.token_cache_seconds = 0  # one token lookup per request, however slow the machine is
    settings.response_cache_size = 0  # count what executing the query costs, not the cache's sequence check
    return settings


async def _orders_with_work(staff: Api, clock: FrozenClock, count: int) -> None:
    for _ in range(count):
        order = await create_order(staff, clock.now())
        first = await schedule(staff, order["id"], clock.now(), itemId=order["items"][0]["id"])
        await schedule(staff, order["id"], clock.now(), days=(3, 5), predecessorIds=[first["id"]])
        await staff.ok("mutation($id: ID!) { generateServiceOrderRequests(orderId: $id) { id } }", {"id": order["id"]})


async def _statements_for(staff: Api, db: Database, first: int) -> tuple[int, int]:
    before = db.statements.count
    data = await staff.ok(TREE, {"first": first})
    return db.statements.count - before, len(data["customerOrders"]["edges"])


async def test_the_order_tree_for_100_orders_costs_the_same_statements_as_for_10(
    staff: Api, db: Database, clock: FrozenClock
) -> None:
    await _orders_with_work(staff, clock, 100)
    small, small_count = await _statements_for(staff, db, 10)
    large, large_count = await _statements_for(staff, db, 100)
    assert (small_count, large_count) == (10, 100)
    assert small == large
    assert large <= 16  # token lookup, the page, one query per nested list (SQLite adds a BEGIN per session)
