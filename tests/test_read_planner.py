"""The read planner answers exactly what strawberry's ordinary execution answers.

Differential: the same document, variables and principal go to an app with the planner and to one
without it, on the same data (generated order trees with party orders, instants with and without
fractional seconds), and the two response bodies must be equal: data, errors and their order. The
documents are every front-end contract query and selections hypothesis-graphql generates from the
schema for the planned root fields; the principals are staff, viewer, partner, a revoked-free
anonymous caller. Both databases: the planner builds the JSON with PostgreSQL's functions on one and
SQLite's on the other, and on each it must have answered some documents itself.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from hypothesis_graphql import nodes, queries
from sqlalchemy import select
from sqlmodel import col

from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.datagen import Spec, generate
from app.db import Database
from app.graphql.contract import load_operations
from app.main import create_app
from app.party_orders.models import Party, PartyOrder
from tests.conftest import START, issue_token

SCHEMA = (__import__("pathlib").Path(__file__).resolve().parent.parent / "schema.graphql").read_text()
PLANNED_ROOTS = ["customerOrders", "customerOrder"]


class Pair:
    """Two apps on one database: the planner on and off."""

    def __init__(self, planned: httpx.AsyncClient, plain: httpx.AsyncClient, planner: Any) -> None:
        self.planned, self.plain, self.planner = planned, plain, planner

    async def same(self, query: str, variables: dict[str, Any] | None, token: str | None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {"query": query, "variables": variables or {}}
        ours = await self.planned.post("/graphql", json=body, headers=headers)
        theirs = await self.plain.post("/graphql", json=body, headers=headers)
        assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()), query
        return ours.json()


@pytest.fixture
async def pair(db: Database) -> AsyncIterator[Pair]:
    clock = FrozenClock(START)
    apps = []
    for planner in (True, False):
        s = Settings(
            database_url="sqlite+aiosqlite:///unused.db",
            monitor_enabled=False,
            response_cache_size=0,
            read_planner=planner,
            _env_file=None,
        )
        apps.append(create_app(s, db=db, clock=clock, components=[]))
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[0]), base_url="http://planned") as a,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[1]), base_url="http://plain") as b,
        ):
            yield Pair(a, b, apps[0].state.ordertrack.services.read_planner)


async def orders_with_trees(db: Database, pair: Pair) -> dict[str, Any]:
    """40 generated orders (items nested, activities chained, service order requests, party orders), at an
    instant with fractional seconds, and one of them, with a party order of the partner's party, given what
    the contract's OrderTree asks beyond the tree: contacts, characteristics, notes, an escalation,
    milestones and a change request (through the API). Returns ids the documents can ask about and a token
    per role."""
    await generate(db, Spec(orders=40, items=5, chunk=20), START + timedelta(microseconds=123450))
    async with db.read() as session:
        party_id = (await session.execute(select(col(Party.id)).order_by(col(Party.id)))).scalars().first()
        party_order = (
            (await session.execute(select(PartyOrder).where(col(PartyOrder.party_id) == party_id).order_by(col(PartyOrder.id))))
            .scalars()
            .first()
        )
    clock = FrozenClock(START)
    tokens = {
        "staff": await issue_token(db, clock, Role.STAFF, "sam.staff"),
        "viewer": await issue_token(db, clock, Role.VIEWER, "dash.viewer"),
        "partner": await issue_token(db, clock, Role.PARTNER, "pat.partner", party_id=party_id),
        "anonymous": None,
    }
    assert party_order is not None
    order, po = str(party_order.order_id), str(party_order.id)
    staff, partner = {"Authorization": f"Bearer {tokens['staff']}"}, {"Authorization": f"Bearer {tokens['partner']}"}
    changes = [
        (
            'mutation($id: ID!) { updateCustomerOrder(id: $id, version: 1, input: {contacts: [{name: "Ann", email: "ann@example.com"},'
            ' {name: "Bob", role: "field engineer", phone: "+44 1"}], characteristics: [{name: "speed", value: "1G"},'
            ' {name: "Zone", value: "b"}, {name: "access", value: "fibre"}]}) { id } }',
            {"id": order},
            staff,
        ),
        ('mutation($id: ID!) { addOrderNote(orderId: $id, text: "Customer asked for a call") { id } }', {"id": order}, staff),
        ('mutation($id: ID!) { addOrderNote(orderId: $id, text: "Called back") { id } }', {"id": order}, staff),
        (
            'mutation($id: ID!) { escalateCustomerOrder(id: $id, level: 1, reason: "customer complaint", notify: ["ops", "sales"]) { id } }',
            {"id": order},
            staff,
        ),
        (
            'mutation($id: ID!) { planPartyMilestone(partyOrderId: $id, input: {name: "survey", plannedDate: "2030-01-02T03:04:05Z"}) { id } }',
            {"id": po},
            staff,
        ),
        (
            'mutation($id: ID!) { planPartyMilestone(partyOrderId: $id, input: {name: "install", plannedDate: "2030-01-01T00:00:00.5Z"}) { id } }',
            {"id": po},
            staff,
        ),
        (
            'mutation($id: ID!) { requestPartyOrderChange(id: $id, idempotencyKey: "k1", input: {nature: REQUESTED, kind: OTHER,'
            ' reason: "new survey slot"}) { id } }',
            {"id": po},
            partner,
        ),
    ]
    for mutation, variables, headers in changes:
        answer = (await pair.plain.post("/graphql", json={"query": mutation, "variables": variables}, headers=headers)).json()
        assert not answer.get("errors"), answer
    return {"order": order, "party_order": po, "party": str(party_id), "tokens": tokens}


def variables_for(body: str, known: dict[str, Any]) -> dict[str, Any]:
    """Values for a contract operation's variables: ids of the generated data, defaults otherwise."""
    values: dict[str, Any] = {}
    for definition in parse(body).definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for variable in definition.variable_definitions or ():
            name = variable.variable.name.value
            if name in ("id", "orderId"):
                values[name] = (
                    known["party_order"] if "Party" in (definition.name.value if definition.name else "") else known["order"]
                )
            elif name == "partyOrderId":
                values[name] = known["party_order"]
    return values


async def test_every_contract_query_answers_the_same_planned_and_executed_for_every_role(db: Database, pair: Pair) -> None:
    known = await orders_with_trees(db, pair)
    queries_run = 0
    for op in load_operations():
        if op.type != "query":
            continue
        for token in known["tokens"].values():
            await pair.same(op.body, variables_for(op.body, known), token)
            queries_run += 1
    dashboard = """query Dashboard($first: Int!) { customerOrders(first: $first, sort: COMMITTED_DATE, direction: ASC) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node {
        id state committedDate expectedCompletion jeopardyLevel version
        allItems { id parentId state activities { id state plannedStart expectedEnd predecessorIds }
          serviceOrderRequest { id state externalRef } partyOrders { id partyId state expectedDeliveryDate } } } } } }"""
    answer = await pair.same(dashboard, {"first": 10}, known["tokens"]["viewer"])
    edges = answer["data"]["customerOrders"]["edges"]
    assert len(edges) == 10 and any(i["partyOrders"] for e in edges for i in e["node"]["allItems"])
    assert any(a["predecessorIds"] for e in edges for i in e["node"]["allItems"] for a in i["activities"])
    next_page = await pair.same(
        dashboard.replace("($first: Int!)", "($first: Int!, $after: String)").replace(
            "first: $first,", "first: $first, after: $after,"
        ),
        {"first": 40, "after": answer["data"]["customerOrders"]["pageInfo"]["endCursor"]},
        known["tokens"]["staff"],
    )
    assert next_page["data"]["customerOrders"]["pageInfo"]["hasPreviousPage"] is True
    assert queries_run >= 4 * 8
    assert pair.planner is not None
    planned_before = pair.planner.answered
    tree = await pair.same(
        next(op.body for op in load_operations() if op.name == "OrderTree"), {"id": known["order"]}, known["tokens"]["staff"]
    )
    order = tree["data"]["customerOrder"]
    assert (
        len(order["contacts"]) == 2 and len(order["characteristics"]) == 4 and len(order["notes"]) == 2 and order["escalations"]
    )
    assert any(p["milestones"] and p["changeRequests"] and p["lines"] for p in order["partyOrders"])
    # The contract's OrderTree now asks for the forecasts the Gantt draws, which the planner does not read
    # (a Float, and each party order's forecast kept as JSON keyed by its id): strawberry answers it, and
    # ``pair.same`` has checked it equal to the planner-less app's answer.
    assert pair.planner.answered == planned_before
    assert pair.planner is not None and pair.planner.answered >= 4  # the dashboard pages and the list


@st.composite
def date_times(draw: st.DrawFn) -> Any:
    instant = draw(
        st.datetimes(
            min_value=START.replace(tzinfo=None) - timedelta(days=400), max_value=START.replace(tzinfo=None) + timedelta(days=400)
        )
    )
    return nodes.String(instant.isoformat() + "Z")


def generated_selections(count: int) -> list[str]:
    """``count`` documents hypothesis-graphql builds from the schema for the planned root fields."""
    found: list[str] = []

    @hypothesis_settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(queries(SCHEMA, fields=PLANNED_ROOTS, custom_scalars={"DateTime": date_times(), "JSON": st.just(nodes.String("x"))}))
    def collect(query: str) -> None:
        found.append(query)

    collect()
    return found


async def test_generated_selections_answer_the_same_planned_and_executed(db: Database, pair: Pair) -> None:
    known = await orders_with_trees(db, pair)
    documents = generated_selections(60)
    # Generated arguments rarely name a real order or a valid page size: ask each also with ones the data has.
    documents += [
        re.sub(
            r"first: -?\d+",
            "first: 7",
            re.sub(r'customerOrder\(id: "(?:[^"\\]|\\.)*"', f'customerOrder(id: "{known["order"]}"', d),
        )
        for d in documents
    ]
    for document in documents:
        for token in known["tokens"].values():
            await pair.same(document, None, token)
    assert len(documents) >= 60
    assert pair.planner is not None and pair.planner.answered > 0  # the planner answered some, not only strawberry
