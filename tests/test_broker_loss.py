"""Redis goes away and comes back: the bus says so once, in one clear warning, reconnects by
itself, and leaves no half-dead tasks behind ("Task was destroyed but it is pending")."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from app.db import Database
from app.realtime.bus import EventBus
from tests.live import RedisServer, wait_until


def readers_pending() -> int:
    """The broker backends' reader tasks still alive in this loop."""
    return sum(1 for task in asyncio.all_tasks() if "_pubsub_listener" in repr(task.get_coro()))


async def test_losing_redis_is_one_warning_and_the_bus_reconnects_by_itself(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    redis = RedisServer()
    redis.start()
    bus = EventBus(db, redis.url, heartbeat=0.2, reconnect_max=0.4, poll_interval=0.2)
    try:
        with caplog.at_level(logging.DEBUG):
            await bus.start()
            await wait_until(bus.connected.is_set, timeout=10, what="the bus on redis")
            redis.stop()
            await wait_until(lambda: not bus.connected.is_set(), timeout=10, what="the bus to notice")
            await wait_until(lambda: bus.reconnects >= 4, timeout=15, what="several reconnect attempts")
            assert readers_pending() == 0  # failed attempts leave no reader behind
            redis.start()
            await wait_until(bus.connected.is_set, timeout=15, what="the bus back on redis")
            assert readers_pending() == 1
            gc.collect()  # a task dropped while pending (or with an unread exception) is reported when it is collected
    finally:
        await bus.stop()
        redis.stop()
    gc.collect()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "ordertrack.bus"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "redis" in warnings[0].getMessage() and "log" in warnings[0].getMessage()
    assert any(r.levelno == logging.INFO and "back" in r.getMessage() for r in caplog.records if r.name == "ordertrack.bus")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors
    assert not any("Task was destroyed" in r.getMessage() or "never retrieved" in r.getMessage() for r in caplog.records)
