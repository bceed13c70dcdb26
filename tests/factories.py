"""Builders of test data through the public API (each test makes its own)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from tests.api import Api

_refs = itertools.count(1)

ORDER_FIELDS = """
  id salesRequestRef customerId customerName priority state stateReason version committedDate
  expectedCompletion jeopardyLevel escalationLevel completedAt
  contacts { name role email phone } characteristics { name value }
  items { id productRef action quantity fulfillment state partyId
    children { id productRef state parentId } activities { id state } serviceOrderRequest { id state } }
  activities { id kind state itemId predecessorIds plannedStart plannedEnd version }
  serviceOrderRequests { id itemId state externalRef }
"""

CREATE = f"mutation($input: CreateCustomerOrderInput!) {{ createCustomerOrder(input: $input) {{ {ORDER_FIELDS} }} }}"
GET = f"query($id: ID!) {{ customerOrder(id: $id) {{ {ORDER_FIELDS} }} }}"


def iso(when: datetime) -> str:
    return when.isoformat()


def order_input(now: datetime, **overrides: Any) -> dict[str, Any]:
    n = next(_refs)
    data: dict[str, Any] = {
        "salesRequestRef": f"SR-{n:05d}",
        "customerId": "CUST-1",
        "customerName": "Acme Ltd",
        "priority": "NORMAL",
        "committedDate": iso(now + timedelta(days=30)),
        "contacts": [{"name": "Ada Buyer", "role": "buyer", "email": "ada@acme.test"}],
        "items": [
            {"productRef": "FIBRE-1G", "quantity": 1, "children": [{"productRef": "ROUTER-X", "quantity": 1}]},
            {"productRef": "IP-BLOCK", "quantity": 2},
        ],
    }
    data.update(overrides)
    return data


async def create_order(api: Api, now: datetime, **overrides: Any) -> dict[str, Any]:
    data = await api.ok(CREATE, {"input": order_input(now, **overrides)})
    return data["createCustomerOrder"]


async def get_order(api: Api, order_id: str) -> dict[str, Any]:
    return (await api.ok(GET, {"id": order_id}))["customerOrder"]


SCHEDULE = """mutation($orderId: ID!, $input: ScheduleActivityInput!) {
  scheduleActivity(orderId: $orderId, input: $input) { id kind state version itemId predecessorIds plannedStart plannedEnd }
}"""

PROGRESS = """mutation($id: ID!, $input: ActivityProgressInput!, $version: Int) {
  recordActivityProgress(id: $id, input: $input, version: $version) { id state percentComplete actualStart actualEnd version }
}"""


async def schedule(api: Api, order_id: str, now: datetime, *, days: tuple[int, int] = (1, 3), **extra: Any) -> dict[str, Any]:
    data = {
        "kind": extra.pop("kind", "install"),
        "plannedStart": iso(now + timedelta(days=days[0])),
        "plannedEnd": iso(now + timedelta(days=days[1])),
        **extra,
    }
    return (await api.ok(SCHEDULE, {"orderId": order_id, "input": data}))["scheduleActivity"]


async def progress(api: Api, activity_id: str, state: str, **extra: Any) -> dict[str, Any]:
    return (await api.ok(PROGRESS, {"id": activity_id, "input": {"state": state, **extra}}))["recordActivityProgress"]
