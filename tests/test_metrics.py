"""/metrics speaks Prometheus: requests and latency per operation, errors by code, events, jeopardy."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from prometheus_client import Histogram
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from app.auth import Actor, Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.graphql.context import Context
from app.graphql.schema import build_schema
from app.jeopardy.monitor import Monitor
from app.jeopardy.policy import load_policy
from app.observability import metrics
from app.observability.logs import (
    JsonFormatter,
    RequestIdFilter,
    RequestInfo,
    current_request,
    logging_config,
)
from app.orders.queries import event_cursor
from tests.api import Api
from tests.factories import create_order
from tests.live import wait_until


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def settings() -> Settings:
    """The open-order gauges counted every 50 ms, so that a test sees a change soon after it."""
    return Settings(
        database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, metrics_refresh_seconds=0.05, _env_file=None
    )


async def test_metrics_count_operations_errors_events_and_jeopardy(
    http: httpx.AsyncClient, staff: Api, clock: FrozenClock
) -> None:
    before = samples((await http.get("/metrics")).text)
    await create_order(staff, clock.now())
    await staff.ok("query OrdersBoard { customerOrders(first: 5) { edges { cursor } } }")
    await staff.error('query Broken { customerOrder(id: "nope") { id } }')
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)
    assert (
        value(after, "ordertrack_graphql_requests_total", operation="OrdersBoard", type="query")
        == value(before, "ordertrack_graphql_requests_total", operation="OrdersBoard", type="query") + 1
    )
    assert value(after, "ordertrack_graphql_request_duration_seconds_count", operation="OrdersBoard") >= 1
    assert (
        value(after, "ordertrack_errors_total", code="INVALID_INPUT")
        == value(before, "ordertrack_errors_total", code="INVALID_INPUT") + 1
    )
    assert value(after, "ordertrack_events_published_total") >= value(before, "ordertrack_events_published_total") + 1

    async def gauge_counts_the_new_order() -> bool:  # counted in the background, not per scrape
        return value(samples((await http.get("/metrics")).text), "ordertrack_orders_by_jeopardy_level", level="none") == 1

    await wait_until(gauge_counts_the_new_order, timeout=10, what="the open-order gauge")
    for name in (
        "ordertrack_subscriptions_open",
        "ordertrack_events_replayed_total",
        "ordertrack_monitor_sweep_duration_seconds_count",
    ):
        assert any(key[0] == name for key in after), name


def test_client_chosen_operation_names_cannot_blow_up_the_label_set() -> None:
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("x" * 500) == "invalid"
    assert metrics.operation_label("drop table;") == "invalid"
    labels = {metrics.operation_label(f"Op{i}") for i in range(1000)}
    assert len(labels) <= 201 and "other" in labels


async def test_every_response_has_a_request_id_and_logs_are_json_lines(http: httpx.AsyncClient, staff: Api) -> None:
    response = await http.get("/healthz", headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert len((await http.get("/healthz", headers={"x-request-id": "bad id\n"})).headers["x-request-id"]) == 32
    token = current_request.set(RequestInfo(request_id="req-7", operation="OrdersBoard"))
    try:
        record = logging.LogRecord("ordertrack", logging.WARNING, __file__, 1, "slow %s", ("query",), None)
        RequestIdFilter().filter(record)
    finally:
        current_request.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line == {**line, "level": "WARNING", "message": "slow query", "request_id": "req-7", "operation": "OrdersBoard"}
    assert logging_config("debug")["root"]["level"] == "DEBUG"


async def test_subscriptions_replays_and_monitor_sweeps_are_measured(
    app: Starlette, staff: Api, clock: FrozenClock, db: Database
) -> None:
    await create_order(staff, clock.now())
    state = app.state.ordertrack
    schema = build_schema(state.settings)
    open_before, replayed_before = metrics.SUBSCRIPTIONS_OPEN._value.get(), metrics.EVENTS_REPLAYED._value.get()
    context = Context(
        db=db, clock=clock, settings=state.settings, policy=state.policy, actor=Actor("m", Role.VIEWER), services=state.services
    )
    stream = await schema.subscribe(
        "subscription($after: String) { orderEventsMatching(after: $after) { sequence } }",
        variable_values={"after": event_cursor(0)},
        context_value=context,
    )
    first = await asyncio.wait_for(stream.__anext__(), timeout=5)
    assert first.data is not None and first.data["orderEventsMatching"]["sequence"] == 1
    assert metrics.SUBSCRIPTIONS_OPEN._value.get() == open_before + 1
    assert metrics.EVENTS_REPLAYED._value.get() >= replayed_before + 1
    await stream.aclose()
    # the resolver's own generator closes right after strawberry's wrapper
    await wait_until(lambda: metrics.SUBSCRIPTIONS_OPEN._value.get() == open_before, timeout=5, what="the gauge to go down")
    sweeps_before = _histogram_count(metrics.MONITOR_SWEEP_SECONDS)
    await Monitor(db, clock, policy=load_policy()).sweep()
    assert _histogram_count(metrics.MONITOR_SWEEP_SECONDS) == sweeps_before + 1


def _histogram_count(histogram: Histogram) -> float:
    for family in histogram.collect():
        for sample in family.samples:
            if sample.name.endswith("_count"):
                return float(sample.value)
    return 0.0
