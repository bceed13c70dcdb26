"""ORDERTRACK_ENV=production: nothing about the schema for strangers (no GraphiQL, no introspection,
no "Did you mean"), /metrics only with METRICS_TOKEN and without a database query per scrape,
security headers, and logs without SQL values, tokens or request bodies."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database, UnitOfWork
from app.observability.logs import QUIET_DRIVERS, JsonFormatter, RequestIdFilter, logging_config
from app.orders import service
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import create_order
from tests.security_helpers import client_for

BOUND = "bound-value-4711"  # a bound SQL value that must not reach the logs

# (a near miss, its variables, the names it comes near: none of them may appear in the answer)
NEAR_MISSES = [
    ('{ customerOrdr(id: "1") { id } }', None, ["customerOrder'", "customerOrders"]),  # a field
    ('{ customerOrder(id: "1", idd: "1") { id } }', None, ["'id'"]),  # an argument
    ("{ customerOrders(sort: CREATED_A) { totalCount } }", None, ["CREATED_AT", "UPDATED_AT"]),  # an enum value
    ('{ customerOrders(filter: {customerI: "x"}) { totalCount } }', None, ["customerId"]),  # an input field
    ("query($f: CustomerOrderFiltr) { me { name } }", None, ["CustomerOrderFilter", "PartyOrderFilter"]),  # a type
    ("query($f: CustomerOrderFilter) { customerOrders(filter: $f) { totalCount } }", {"f": {"customerI": "x"}}, ["customerId"]),
    ("query($s: OrderSortField!) { customerOrders(sort: $s) { totalCount } }", {"s": "CREATED_A"}, ["CREATED_AT", "UPDATED_AT"]),
]


@contextlib.contextmanager
def drivers_as_configured() -> Iterator[None]:
    """The database drivers' loggers at the levels ``logging_config`` gives them, even at DEBUG."""
    config = logging_config("DEBUG")["loggers"]
    loggers = {name: logging.getLogger(name) for name in QUIET_DRIVERS}
    levels = {name: logger.level for name, logger in loggers.items()}
    for name, logger in loggers.items():
        logger.setLevel(config[name]["level"])
    try:
        yield
    finally:
        for name, logger in loggers.items():
            logger.setLevel(levels[name])


def production(**overrides: Any) -> dict[str, Any]:
    # graphiql and introspection asked for explicitly: the profile wins.
    return {"ordertrack_env": "production", "graphiql": True, "introspection": True, **overrides}


def test_the_production_profile_turns_off_graphiql_introspection_and_suggestions() -> None:
    settings = Settings(_env_file=None, **production())
    assert (settings.graphiql, settings.introspection, settings.suggestions) == (False, False, False)
    assert Settings(_env_file=None).graphiql


@pytest.mark.parametrize("overrides", [production(), {"introspection": False}], ids=["production", "introspection-off"])
async def test_near_misses_name_nothing_of_the_schema(overrides: dict[str, object], db: Database, clock: FrozenClock) -> None:
    async with client_for(db, clock, **overrides) as http:
        for query, variables, near in NEAR_MISSES:
            body = (await http.post("/graphql", json={"query": query, "variables": variables or {}})).json()
            messages = " ".join(e["message"] for e in body["errors"])
            assert "Did you mean" not in messages, messages
            for name in near:
                assert name not in messages, (name, messages)
            assert all(e["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "INVALID_INPUT") for e in body["errors"]), body
        refused = (await http.post("/graphql", json={"query": "{ __schema { types { name } } }"})).json()
        assert refused["errors"] and not refused.get("data")


async def test_with_introspection_on_developers_still_get_suggestions(http: httpx.AsyncClient) -> None:
    body = (await http.post("/graphql", json={"query": '{ customerOrder(idd: "1") { id } }'})).json()
    assert "Did you mean 'id'?" in body["errors"][0]["message"]


async def test_production_serves_no_graphiql_and_sets_security_headers(db: Database, clock: FrozenClock) -> None:
    async with client_for(db, clock, **production(metrics_token="m-secret")) as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        response = await http.get("/healthz")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_metrics_need_the_metrics_token_in_production(db: Database, clock: FrozenClock) -> None:
    async with client_for(db, clock, **production(metrics_token="m-secret")) as http:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "m-secret"}):
            refused = await http.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert "ordertrack_" not in refused.text
        allowed = await http.get("/metrics", headers={"authorization": "Bearer m-secret"})
        assert allowed.status_code == 200 and "ordertrack_http_requests_total" in allowed.text
    async with client_for(db, clock, **production()) as http:  # no token set: nobody reads them
        assert (await http.get("/metrics", headers={"authorization": "Bearer "})).status_code == 401


async def test_a_scrape_reads_kept_counts_and_sends_no_sql(db: Database, clock: FrozenClock) -> None:
    async with client_for(db, clock, metrics_token="m-secret") as http:
        await http.get("/metrics", headers={"authorization": "Bearer m-secret"})
        before = db.statements.count
        for _ in range(5):
            assert (await http.get("/metrics", headers={"authorization": "Bearer m-secret"})).status_code == 200
        assert db.statements.count == before


async def test_logs_hold_no_sql_values_tokens_or_request_bodies(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = await issue_token(db, clock, Role.STAFF, "log.staff")

    async def broken_add_note(uow: UnitOfWork, order_id: int, note_text: str) -> None:
        await uow.session.execute(
            text("SELECT secret FROM no_such_table WHERE path = :p"), {"p": BOUND}
        )  # a name: the traceback shows this line

    async with client_for(db, clock, **production()) as http:
        staff = Api(http, token)
        order = await create_order(staff, clock.now())
        monkeypatch.setattr(service, "add_note", broken_add_note)
        with caplog.at_level(logging.DEBUG), drivers_as_configured():
            body = await staff.send(
                'mutation($id: ID!) { addOrderNote(orderId: $id, text: "body-text-0815") { id } }', {"id": order["id"]}
            )
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    lines = []
    for record in caplog.records:
        RequestIdFilter().filter(record)
        lines.append(JsonFormatter().format(record))
    logged = "\n".join(lines)
    assert "no_such_table" in logged  # the error itself is logged ...
    for secret in (BOUND, token, "body-text-0815"):  # ... but none of what was sent with it
        assert secret not in logged, secret
    assert all(json.loads(line) for line in lines)
