"""The limit: a hand-written Starlette endpoint that runs the dashboard's SQL and builds its JSON with orjson.

It answers exactly what ``bench.tree.DASHBOARD`` asks the GraphQL endpoint, for any of its questions (states,
priorities, direction; the benchmark checks the bodies are equal), with the same statements the GraphQL request runs (and the same 5 s token cache): the page of
orders, then one statement each for items, activities, predecessors, service order requests,
party order links and party orders.
Run: ``uvicorn bench.handwritten:create_app --factory`` with DATABASE_URL and DATABASE_SCHEMA set.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.orders.graphql import enums
from app.pagination import encode_cursor
from app.party_orders.graphql import enums as party_enums


def names(enum: Any) -> dict[str, str]:
    return {member.value: member.name for member in enum}


ORDER_STATE, ITEM_STATE = names(enums.OrderState), names(enums.OrderItemState)
ACTIVITY_STATE, REQUEST_STATE = names(enums.ActivityState), names(enums.ServiceOrderRequestState)
PRIORITY, JEOPARDY, FULFILLMENT = names(enums.Priority), names(enums.JeopardyLevel), names(enums.Fulfillment)
PARTY_STATE = names(party_enums.PartyOrderState)

SQL_TOKEN = "SELECT id, name, role, party_id, revoked_at FROM api_token WHERE token_hash = $1"
SQL_ORDERS = """SELECT id, sales_request_ref, customer_name, priority, state, committed_date, expected_completion,
  jeopardy_level, version FROM customer_order WHERE state = ANY($1::varchar[]) AND priority = ANY($3::varchar[])
  ORDER BY committed_date {direction}, id {direction} LIMIT $2"""
SQL_ITEMS = """SELECT id, order_id, parent_id, product_ref, quantity, fulfillment, state FROM order_item
  WHERE order_id = ANY($1::int[]) ORDER BY parent_id, position, id"""
SQL_ACTIVITIES = """SELECT id, order_id, item_id, kind, state, planned_start, planned_end, expected_end,
  percent_complete FROM activity WHERE order_id = ANY($1::int[]) ORDER BY planned_start, id"""
SQL_PREDECESSORS = """SELECT activity_id, predecessor_id FROM activity_dependency
  WHERE activity_id = ANY($1::int[]) ORDER BY predecessor_id"""
SQL_REQUESTS = """SELECT id, order_id, item_id, state, external_ref FROM service_order_request
  WHERE order_id = ANY($1::int[]) ORDER BY id"""
SQL_PARTY_LINKS = """SELECT party_order_id, item_id, order_id FROM party_order_item
  WHERE order_id = ANY($1::int[]) ORDER BY party_order_id, item_id"""
SQL_PARTY_ORDERS = """SELECT id, order_id, party_id, state, percent_complete, expected_delivery, jeopardy_level FROM party_order
  WHERE order_id = ANY($1::int[]) ORDER BY id"""
TOKENS: dict[str, float] = {}
STATEMENTS = [SQL_ORDERS, SQL_ITEMS, SQL_ACTIVITIES, SQL_PREDECESSORS, SQL_REQUESTS, SQL_PARTY_LINKS, SQL_PARTY_ORDERS]


def s(value: int | None) -> str | None:
    return None if value is None else str(value)


VALUE_OF_STATE = {name: value for value, name in ORDER_STATE.items()}
VALUE_OF_PRIORITY = {name: value for value, name in PRIORITY.items()}
ORDERS_BY_DIRECTION = {"ASC": SQL_ORDERS.format(direction="ASC"), "DESC": SQL_ORDERS.format(direction="DESC")}


async def dashboard(
    pool: asyncpg.Pool,
    authorization: str,
    first: int,
    states: list[str] | None = None,
    priorities: list[str] | None = None,
    direction: str = "ASC",
) -> dict[str, Any]:
    """The answer to ``bench.tree.DASHBOARD`` with these variables (GraphQL enum names)."""
    state_values = [VALUE_OF_STATE[s] for s in states or ["ACKNOWLEDGED", "IN_PROGRESS"]]
    priority_values = [VALUE_OF_PRIORITY[p] for p in priorities or list(VALUE_OF_PRIORITY)]
    async with pool.acquire() as conn:
        known = TOKENS.get(authorization)
        if known is None or known < time.monotonic():  # the same 5 s token cache as the service
            token = authorization.partition(" ")[2].strip()
            actor = await conn.fetchrow(SQL_TOKEN, hashlib.sha256(token.encode()).hexdigest())
            if actor is None or actor["revoked_at"] is not None:
                return {
                    "data": None,
                    "errors": [{"message": "The token is unknown or revoked.", "extensions": {"code": "UNAUTHENTICATED"}}],
                }
            TOKENS[authorization] = time.monotonic() + 5
        orders = await conn.fetch(ORDERS_BY_DIRECTION[direction], state_values, first + 1, priority_values)
        has_next, orders = len(orders) > first, orders[:first]
        ids = [o["id"] for o in orders]
        items = await conn.fetch(SQL_ITEMS, ids)
        activities = await conn.fetch(SQL_ACTIVITIES, ids)
        predecessors = await conn.fetch(SQL_PREDECESSORS, [a["id"] for a in activities])
        requests = await conn.fetch(SQL_REQUESTS, ids)
        links = await conn.fetch(SQL_PARTY_LINKS, ids)
        party_orders = await conn.fetch(SQL_PARTY_ORDERS, ids)
    party_order = {
        p["id"]: {
            "id": str(p["id"]),
            "partyId": str(p["party_id"]),
            "state": PARTY_STATE[p["state"]],
            "percentComplete": p["percent_complete"],
            "expectedDeliveryDate": p["expected_delivery"],
            "jeopardyLevel": JEOPARDY[p["jeopardy_level"]],
        }
        for p in party_orders
    }
    party_orders_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for link in links:
        party_orders_of[link["item_id"]].append(party_order[link["party_order_id"]])
    preds: dict[int, list[str]] = defaultdict(list)
    for activity_id, predecessor_id in predecessors:
        preds[activity_id].append(str(predecessor_id))
    by_item: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in activities:
        by_item[a["item_id"]].append(
            {
                "id": str(a["id"]),
                "kind": a["kind"],
                "state": ACTIVITY_STATE[a["state"]],
                "plannedStart": a["planned_start"],
                "plannedEnd": a["planned_end"],
                "expectedEnd": a["expected_end"],
                "percentComplete": a["percent_complete"],
                "predecessorIds": preds.get(a["id"], []),
            }
        )
    request_of: dict[int, dict[str, Any]] = {}
    for r in requests:
        request_of.setdefault(
            r["item_id"], {"id": str(r["id"]), "state": REQUEST_STATE[r["state"]], "externalRef": r["external_ref"]}
        )
    items_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for i in items:
        items_of[i["order_id"]].append(
            {
                "id": str(i["id"]),
                "parentId": s(i["parent_id"]),
                "productRef": i["product_ref"],
                "quantity": i["quantity"],
                "fulfillment": FULFILLMENT[i["fulfillment"]],
                "state": ITEM_STATE[i["state"]],
                "activities": by_item.get(i["id"], []),
                "serviceOrderRequest": request_of.get(i["id"]),
                "partyOrders": sorted(party_orders_of.get(i["id"], []), key=lambda p: int(p["id"])),
            }
        )
    edges = [
        {
            "node": {
                "id": str(o["id"]),
                "salesRequestRef": o["sales_request_ref"],
                "customerName": o["customer_name"],
                "priority": PRIORITY[o["priority"]],
                "state": ORDER_STATE[o["state"]],
                "committedDate": o["committed_date"],
                "expectedCompletion": o["expected_completion"],
                "jeopardyLevel": JEOPARDY[o["jeopardy_level"]],
                "version": o["version"],
                "allItems": items_of.get(o["id"], []),
            }
        }
        for o in orders
    ]
    end = encode_cursor([orders[-1]["committed_date"], orders[-1]["id"]]) if orders else None
    return {"data": {"customerOrders": {"pageInfo": {"hasNextPage": has_next, "endCursor": end}, "edges": edges}}}


def create_app() -> Starlette:
    url = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    schema = os.environ.get("DATABASE_SCHEMA")
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        settings = {"search_path": schema} if schema else {}
        state["pool"] = await asyncpg.create_pool(url, min_size=2, max_size=10, server_settings=settings)
        yield
        await state["pool"].close()

    async def endpoint(request: Request) -> Response:
        body = orjson.loads(await request.body())
        variables = body.get("variables") or {}
        result = await dashboard(
            state["pool"],
            request.headers.get("authorization", ""),
            int(variables.get("first", 50)),
            variables.get("states"),
            variables.get("priorities"),
            variables.get("direction", "ASC"),
        )
        return Response(orjson.dumps(result), media_type="application/json")

    return Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])], lifespan=lifespan)
