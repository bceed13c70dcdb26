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
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from graphql import OperationDefinitionNode, build_schema, parse, print_schema
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from hypothesis_graphql import nodes, queries
from sqlalchemy import Float, Text, cast, delete, literal, select
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from app.auth import SYSTEM, Role
from app.clock import FrozenClock
from app.config import Settings
from app.datagen import Spec, generate
from app.db import Database
from app.forecast.models import OrderForecast
from app.graphql.contract import load_operations
from app.graphql.planner import Planner
from app.main import create_app
from app.orders.graphql.read_model import READ_MODEL
from app.orders.models import Activity, CustomerOrder
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
        # and written alike, once the database's spacing is gone: 1.0 is not 1, keys in the same order
        assert orjson.dumps(ours.json()) == orjson.dumps(theirs.json()), query
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
    await forecasts(db, int(order), int(po))
    return {"order": order, "party_order": po, "party": str(party_id), "tokens": tokens}


PROBABILITIES = [0.123456789, 0, 1, 0.5, 1 / 3, 0.1 + 0.2, 0.000012345, 2.5e-7, 0.0]


async def forecasts(db: Database, order_id: int, party_order_id: int) -> None:
    """Forecasts, in place of those drawn so far, for two thirds of the orders (the rest have none: null): completions with and without
    fractional seconds or none, probabilities such as 0, 1, 0.5 and 0.123456789 (stored as floats, and in
    the party orders' map also as JSON integers), critical paths of activities and party orders or empty, and
    a map holding some of the order's party orders (one as JSON null), none, or another's id."""
    async with db.read() as session:
        orders: list[Any] = list((await session.execute(select(col(CustomerOrder.id)).order_by(col(CustomerOrder.id)))).scalars())
        activities = dict((await session.execute(select(col(Activity.order_id), col(Activity.id)))).all())
        party_orders: dict[int, list[Any]] = {}
        for o, p in (
            await session.execute(select(col(PartyOrder.order_id), col(PartyOrder.id)).order_by(col(PartyOrder.id)))
        ).all():
            party_orders.setdefault(o, []).append(p)
    at = START + timedelta(days=3, microseconds=250000)
    async with db.write(SYSTEM, START) as uow:
        await uow.session.execute(delete(OrderForecast))  # the ones the writes above drew: these instead
        for n, o in enumerate(orders):
            if n % 3 == 2 and o != order_id:
                continue
            probability = 0.123456789 if o == order_id else PROBABILITIES[n % len(PROBABILITIES)]
            mine = party_orders.get(o, [])
            if o == order_id:
                mine = [party_order_id, *[p for p in mine if p != party_order_id][:1]]  # the partner's, and one without
            entries: dict[str, Any] = {
                str(p): {
                    "p50": (at + timedelta(hours=k)).isoformat(),
                    "p90": (at + timedelta(days=2, hours=k)).replace(microsecond=0).isoformat(),
                    "probability": PROBABILITIES[(n + k) % len(PROBABILITIES)],
                }
                for k, p in enumerate(mine[: 1 + n % 3])
            }
            if n % 5 == 1 and mine:
                entries[str(mine[-1])] = None
            if n % 7 == 3:
                entries["999999"] = {"p50": at.isoformat(), "p90": at.isoformat(), "probability": 1}
            path = [{"kind": "activity", "id": activities[o], "name": "survey"}] if o in activities and n % 4 else []
            path += [{"kind": "partyOrder", "id": p, "name": f"delivery by party {p}"} for p in mine[:1]]
            uow.session.add(
                OrderForecast(
                    order_id=o,
                    completion_p50=None if n % 6 == 5 else at + timedelta(days=n, microseconds=n % 2),
                    completion_p90=None if n % 6 == 5 else (at + timedelta(days=n + 9)).replace(microsecond=0),
                    on_time_probability=float(probability),
                    basis="learned" if n % 2 else "plan",
                    critical_path=path,
                    party_orders=entries,
                    computed_at=START,
                )
            )


def root_fields(body: str) -> list[str]:
    """The root fields a contract operation asks (its documents use no fragments at the root)."""
    return [
        selection.name.value  # type: ignore[attr-defined]  # fields, as said above
        for definition in parse(body).definitions
        if isinstance(definition, OperationDefinitionNode)
        for selection in definition.selection_set.selections
    ]


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
    assert pair.planner is not None
    for op in load_operations():
        if op.type != "query":
            continue
        on_planned_roots = set(root_fields(op.body)) <= set(PLANNED_ROOTS)
        for role, token in known["tokens"].items():
            before = pair.planner.answered
            await pair.same(op.body, variables_for(op.body, known), token)
            queries_run += 1
            # on the planned roots, the enterprise readers' answers are the planner's (partners are refused there)
            assert (pair.planner.answered > before) == (on_planned_roots and role in ("staff", "viewer")), (op.name, role)
    dashboard = """query Dashboard($first: Int!) { customerOrders(first: $first, sort: COMMITTED_DATE, direction: ASC) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node {
        id state committedDate expectedCompletion jeopardyLevel version
        forecast { onTimeProbability completionP50 completionP90 computedAt basis criticalPath { __typename id kind name } }
        partyOrders { id forecast { __typename onTimeProbability deliveryP50 deliveryP90 } }
        allItems { id parentId state activities { id state plannedStart expectedEnd predecessorIds }
          serviceOrderRequest { id state externalRef } partyOrders { id partyId state expectedDeliveryDate forecast { p: onTimeProbability } } } } } } }"""
    answer = await pair.same(dashboard, {"first": 10}, known["tokens"]["viewer"])
    edges = answer["data"]["customerOrders"]["edges"]
    assert len(edges) == 10 and any(i["partyOrders"] for e in edges for i in e["node"]["allItems"])
    assert any(a["predecessorIds"] for e in edges for i in e["node"]["allItems"] for a in i["activities"])
    assert any(e["node"]["forecast"] is None for e in edges) and any(e["node"]["forecast"] for e in edges)
    drawn = [p["forecast"] for e in edges for p in e["node"]["partyOrders"]]
    assert None in drawn and any(drawn)
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
    tree_query = next(op.body for op in load_operations() if op.name == "OrderTree")
    tree = await pair.same(tree_query, {"id": known["order"]}, known["tokens"]["staff"])
    order = tree["data"]["customerOrder"]
    assert (
        len(order["contacts"]) == 2 and len(order["characteristics"]) == 4 and len(order["notes"]) == 2 and order["escalations"]
    )
    assert any(p["milestones"] and p["changeRequests"] and p["lines"] for p in order["partyOrders"])
    # with the forecasts the Gantt draws: the order's (its critical path kept as JSON) and each party order's
    # (an entry of the order forecast's map, keyed by the party order's id; one has none)
    assert order["forecast"]["onTimeProbability"] == 0.123456789 and order["forecast"]["criticalPath"]
    assert {p["id"]: p["forecast"] is None for p in order["partyOrders"]} == {
        known["party_order"]: False,
        **{p["id"]: True for p in order["partyOrders"] if p["id"] != known["party_order"]},
    }
    assert pair.planner.answered == planned_before + 1  # planned, and equal to strawberry's answer
    for role in ("viewer", "staff"):  # the party orders' forecasts are for enterprise readers: those the planner answers
        before = pair.planner.answered
        await pair.same(tree_query, {"id": known["order"]}, known["tokens"][role])
        assert pair.planner.answered == before + 1, role
    for role in ("partner", "anonymous"):  # refused at the root: strawberry reports it
        before = pair.planner.answered
        await pair.same(tree_query, {"id": known["order"]}, known["tokens"][role])
        assert pair.planner.answered == before, role
    assert pair.planner.answered >= 4  # the dashboard pages and the list


@st.composite
def date_times(draw: st.DrawFn) -> Any:
    instant = draw(
        st.datetimes(
            min_value=START.replace(tzinfo=None) - timedelta(days=400), max_value=START.replace(tzinfo=None) + timedelta(days=400)
        )
    )
    return nodes.String(instant.isoformat() + "Z")


def forecast_schema() -> str:
    """The schema with orders and party orders narrowed to their ids, their party orders and their forecasts:
    drawn from it, many selections ask for forecasts (from the whole schema, few do)."""
    schema = build_schema(SCHEMA)
    keep = {"CustomerOrder": {"id", "forecast", "partyOrders"}, "PartyOrder": {"id", "forecast"}}
    for type_name, names in keep.items():
        fields = schema.get_type(type_name).fields  # type: ignore[union-attr]  # object types, by name
        for name in set(fields) - names:
            del fields[name]
    return print_schema(schema)


def generated_selections(count: int, schema: str = SCHEMA) -> list[str]:
    """``count`` documents hypothesis-graphql builds from ``schema`` for the planned root fields."""
    found: list[str] = []

    @hypothesis_settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(queries(schema, fields=PLANNED_ROOTS, custom_scalars={"DateTime": date_times(), "JSON": st.just(nodes.String("x"))}))
    def collect(query: str) -> None:
        found.append(query)

    collect()
    return found


async def test_generated_selections_answer_the_same_planned_and_executed(db: Database, pair: Pair) -> None:
    known = await orders_with_trees(db, pair)
    documents = generated_selections(60) + generated_selections(40, forecast_schema())
    # Generated arguments rarely name a real order or a valid page size: ask each also with ones the data has.
    documents += [
        re.sub(
            r"first: -?\d+",
            "first: 7",
            re.sub(r'customerOrder\(id: "(?:[^"\\]|\\.)*"', f'customerOrder(id: "{known["order"]}"', d),
        )
        for d in documents
    ]
    assert pair.planner is not None
    forecasts_planned = 0
    for document in documents:
        for token in known["tokens"].values():
            before = pair.planner.answered
            await pair.same(document, None, token)
            forecasts_planned += "forecast" in document and pair.planner.answered > before
    assert len(documents) >= 90 and sum("forecast" in d for d in documents) >= 5
    assert pair.planner.answered > 0  # the planner answered some, not only strawberry
    assert forecasts_planned > 0  # among them selections of forecasts


async def test_a_planned_float_is_written_as_the_response_encoder_writes_it(db: Database) -> None:
    # shares such as 0, 1, 0.5, 1/3, and floats of every magnitude either side of where orjson turns to an exponent
    floats = [0.0, -0.0, 1.0, 0.5, 0.123456789, 1 / 3, 2 / 3, 0.1 + 0.2, 1e-5, 9.99e-6, 1.5e-5, 2.5e-7, 5e-324]
    floats += [1e15, 1.5e15, 9999999999999998.0, 1e16, 1.2345678901234568e16, 1e22, 1.7976931348623157e308, -1e-6, -7.0]
    floats += generated_floats(200)
    planner = Planner(READ_MODEL, sqlite_dialect=db.is_sqlite)

    def written(value: float | None) -> Any:
        return select(cast(planner.number(literal(value, Float)), Text))

    async with db.read() as session:
        for value in floats:
            if db.is_sqlite or abs(value) < 1e16:
                assert (await session.execute(written(value))).scalar_one() == orjson.dumps(value).decode(), value
        assert (await session.execute(written(None))).scalar_one() is None
    for value in [v for v in floats if abs(v) >= 1e16 and not db.is_sqlite]:
        # PostgreSQL's digits are not always the shortest there: the statement fails (strawberry answers instead)
        with pytest.raises(DBAPIError):
            async with db.read() as session:
                await session.execute(written(value))


def generated_floats(count: int) -> list[float]:
    found: list[float] = []

    @hypothesis_settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.floats(allow_nan=False, allow_infinity=False) | st.floats(0, 1) | st.fractions(0, 1, max_denominator=10_000))
    def collect(value: Any) -> None:
        found.append(float(value))

    collect()
    return found


async def test_a_permission_the_read_model_does_not_know_is_left_to_strawberry(db: Database, pair: Pair) -> None:
    # PartyOrder.forecast is for enterprise readers (Reader, which decides on the caller alone): without the
    # read model saying so, the planner cannot tell who may see it, so OrderTree falls back, for every role
    known = await orders_with_trees(db, pair)
    assert pair.planner is not None
    tree_query = next(op.body for op in load_operations() if op.name == "OrderTree")
    pair.planner.planner.model = replace(READ_MODEL, permissions=())
    for token in known["tokens"].values():
        before = pair.planner.answered
        await pair.same(tree_query, {"id": known["order"]}, token)
        assert pair.planner.answered == before
    without_forecasts = tree_query.replace(
        "forecast {\n        deliveryP50\n        deliveryP90\n        onTimeProbability\n      }", ""
    )
    assert without_forecasts != tree_query
    await pair.same(without_forecasts, {"id": known["order"]}, known["tokens"]["staff"])
    assert pair.planner.answered == before + 1  # the rest of the tree has no such field
