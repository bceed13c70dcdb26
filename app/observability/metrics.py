"""The service's Prometheus metrics, in one place so every part of the app can update them.

The realtime and jeopardy code increment ``SUBSCRIPTIONS_OPEN``, ``EVENTS_REPLAYED`` and the
``MONITOR_*`` metrics; the rest are kept by the HTTP middleware, the GraphQL extension, the
publisher hook and the /metrics endpoint itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from sqlalchemy import func, select
from sqlmodel import col

if TYPE_CHECKING:
    from app.db import Database

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "ordertrack_http_requests_total", "HTTP requests by route and status.", ["path", "status"], registry=REGISTRY
)
GRAPHQL_REQUESTS = Counter(
    "ordertrack_graphql_requests_total",
    "GraphQL operations by operation name and type.",
    ["operation", "type"],
    registry=REGISTRY,
)
GRAPHQL_LATENCY = Histogram(
    "ordertrack_graphql_request_duration_seconds",
    "GraphQL operation latency by operation name.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
RESPONSE_CACHE = Counter(
    "ordertrack_response_cache_total",
    "Queries answered from the response cache (hit) or executed (miss).",
    ["outcome"],
    registry=REGISTRY,
)
ERRORS = Counter("ordertrack_errors_total", "Errors returned to clients, by extensions.code.", ["code"], registry=REGISTRY)
SUBSCRIPTIONS_OPEN = Gauge("ordertrack_subscriptions_open", "Subscriptions open in this process.", registry=REGISTRY)
EVENTS_PUBLISHED = Counter(
    "ordertrack_events_published_total", "Events handed to the publishers after commit.", registry=REGISTRY
)
EVENTS_REPLAYED = Counter(
    "ordertrack_events_replayed_total", "Events read back from the log to resume or backfill subscribers.", registry=REGISTRY
)
MONITOR_SWEEP_SECONDS = Histogram(
    "ordertrack_monitor_sweep_duration_seconds",
    "Duration of one jeopardy monitor sweep.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
MONITOR_BACKLOG = Gauge(
    "ordertrack_monitor_backlog_orders",
    "Orders the jeopardy sweep in progress has still to examine (0 once it is done; kept by the process that leads).",
    registry=REGISTRY,
)
MONITOR_ORDERS_EXAMINED = Counter(
    "ordertrack_monitor_orders_examined",
    "Orders examined by this process's jeopardy sweeps, counted as each batch commits.",
    registry=REGISTRY,
)
MONITOR_BATCHES = Counter(
    "ordertrack_monitor_batches", "Jeopardy sweep batches committed, each its own transaction.", registry=REGISTRY
)
ORDERS_BY_JEOPARDY = Gauge(
    "ordertrack_orders_by_jeopardy_level",
    "Open customer orders per jeopardy level (counted every METRICS_REFRESH_SECONDS).",
    ["level"],
    registry=REGISTRY,
)
JEOPARDY_LEVELS = ("none", "atRisk", "jeopardy", "late")
CLOSED_STATES = ("completed", "cancelled", "rejected", "failed", "partial")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_OPERATION_NAMES = 200
_seen_names: set[str] = set()
_seen_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """Operation names come from clients: keep the label set small and safe."""
    if not name:
        return "anonymous"
    if not _NAME.match(name):
        return "invalid"
    with _seen_lock:
        if name in _seen_names:
            return name
        if len(_seen_names) >= _MAX_OPERATION_NAMES:
            return "other"
        _seen_names.add(name)
        return name


async def count_published(events: Sequence[Any]) -> None:
    """A ``Database.publishers`` entry: counts events as they are handed on after commit."""
    EVENTS_PUBLISHED.inc(len(events))


async def refresh_order_gauges(db: Database) -> None:
    """Count open orders per jeopardy level; on failure keep the last values (the scrape still works)."""
    from app.orders.models import CustomerOrder

    try:
        async with db.read() as session:
            await session.connection(execution_options={"background": True})  # not counted as a request's SQL
            rows = await session.execute(
                select(col(CustomerOrder.jeopardy_level), func.count())
                .where(col(CustomerOrder.state).not_in(CLOSED_STATES))
                .group_by(col(CustomerOrder.jeopardy_level))
            )
            counts = {level: int(n) for level, n in rows.all()}
    except Exception:  # noqa: BLE001  metrics must not fail because the database does
        return
    for level in set(JEOPARDY_LEVELS) | set(counts):
        ORDERS_BY_JEOPARDY.labels(level=level).set(counts.get(level, 0))


class OrderGauges:
    """Keeps the open-order gauges current from a task of its own: a scrape reads memory, and the
    database sees one count per interval however often, or by whom, /metrics is scraped."""

    def __init__(self, db: Database, interval: float) -> None:
        self.db = db
        self.interval = interval
        self.refreshes = 0
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            await refresh_order_gauges(self.db)
            self.refreshes += 1
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="metrics-order-gauges")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def exposition() -> tuple[bytes, str]:
    """The Prometheus text format of every metric and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
