"""Unexpected failures reach the client masked, with an error id and request id that are in the log."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from app.clock import FrozenClock
from app.db import Database, UnitOfWork
from app.observability.logs import JsonFormatter, RequestIdFilter
from app.orders import service
from tests.api import Api
from tests.factories import create_order
from tests.security_helpers import log_position, post

NOTE = 'mutation($id: ID!) { addOrderNote(orderId: $id, text: "hello") { id } }'
LEAKS = ("Traceback", "SELECT", "no_such_table", "/work", ".py", "sqlalchemy", "asyncpg", "sqlite3", "secret")


def assert_no_internals(payload: str) -> None:
    for leak in LEAKS:
        assert leak not in payload, f"{leak!r} reached the client: {payload}"


async def test_a_database_error_is_masked_and_logged_with_its_ids(
    staff: Api, clock: FrozenClock, db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    order = await create_order(staff, clock.now())

    async def broken_add_note(uow: UnitOfWork, order_id: int, note_text: str) -> None:
        await uow.session.execute(text("SELECT secret FROM no_such_table WHERE path = '/etc/passwd'"))

    monkeypatch.setattr(service, "add_note", broken_add_note)
    before = await log_position(db)
    with caplog.at_level(logging.ERROR, logger="ordertrack.errors"):
        response = await post(staff, {"query": NOTE, "variables": {"id": order["id"]}}, **{"X-Request-ID": "req-hygiene-1"})
    assert response.status_code == 200
    assert_no_internals(response.text)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL"
    assert error["extensions"]["requestId"] == "req-hygiene-1"
    assert response.headers["x-request-id"] == "req-hygiene-1"
    error_id = error["extensions"]["errorId"]
    assert error_id in error["message"]
    logged = [r for r in caplog.records if getattr(r, "error_id", None) == error_id]
    assert logged, "the error id must be in the log"
    line = json.loads(JsonFormatter().format(_with_request_id(logged[0])))
    assert line["error_id"] == error_id and line["request_id"] == "req-hygiene-1"
    assert "no_such_table" in line["exception"]  # the whole story is in the log, not in the response
    assert await log_position(db) == before


def _with_request_id(record: logging.LogRecord) -> logging.LogRecord:
    RequestIdFilter().filter(record)
    return record


async def test_a_bug_in_a_resolver_is_masked(staff: Api, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    order = await create_order(staff, clock.now())

    async def buggy(uow: UnitOfWork, order_id: int, note_text: str) -> None:
        raise KeyError("/srv/app/secret.py line 12")

    monkeypatch.setattr(service, "add_note", buggy)
    response = await post(staff, {"query": NOTE, "variables": {"id": order["id"]}})
    assert_no_internals(response.text)
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert response.json()["errors"][0]["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_expected_errors_keep_their_code_and_details(staff: Api) -> None:
    error = await staff.error(NOTE, {"id": "424242"})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "errorId" not in error["extensions"]


async def test_a_failure_outside_graphql_is_a_json_500_without_internals(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, app: Starlette
) -> None:
    state = app.state.ordertrack

    async def explode() -> bool:
        raise RuntimeError("/etc/secret.py: SELECT secret")

    monkeypatch.setattr(state.db, "ping", explode)
    with caplog.at_level(logging.ERROR, logger="ordertrack.http"):
        response = await http.get("/readyz")
    assert response.status_code == 500
    assert_no_internals(response.text)
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    error_id = body["errors"][0]["extensions"]["errorId"]
    assert any(getattr(r, "error_id", None) == error_id for r in caplog.records)


async def test_a_body_that_is_not_json_is_a_client_error(staff: Api) -> None:
    for body in (b"\xff\xfe{not json", b"{not json", b"[" * 100_000 + b"]" * 100_000, b'{"query": ' + b"[" * 50_000):
        response = await post(staff, body)
        assert response.status_code == 400, body[:20]
        assert_no_internals(response.text)


async def test_a_failure_inside_a_schema_extension_is_masked_too(staff: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.graphql import limits

    def broken(*_: object) -> None:
        raise RuntimeError("/srv/app/limits.py: SELECT secret FROM no_such_table")

    monkeypatch.setattr(limits, "page_sizes", broken)
    response = await post(staff, {"query": "{ me { name } }"})
    assert response.status_code == 200
    assert_no_internals(response.text)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL" and error["extensions"]["requestId"] == response.headers["x-request-id"]
