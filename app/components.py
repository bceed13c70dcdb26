"""The background parts the app factory starts with the app (the event bus, then the jeopardy
monitor and the webhook deliverer), each returning how to stop it; the factory stops them in reverse order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.config import Settings
from app.forecast.drawing import DrawingPool
from app.jeopardy.monitor import Monitor
from app.realtime.bus import bus_from_settings
from app.state import AppState
from app.webhooks.delivery import Deliverer, DeliveryConfig, attach

Stop = Callable[[], Awaitable[None]]
Component = Callable[[AppState], Awaitable[Stop | None]]


async def start_bus(state: AppState) -> Stop:
    """Start the bus, hand it every committed batch, stop it with the app."""
    bus = bus_from_settings(state.settings, state.db)
    await bus.start()
    state.services.bus = bus
    state.db.publishers.append(bus.publish)

    async def stop() -> None:
        if bus.publish in state.db.publishers:
            state.db.publishers.remove(bus.publish)
        state.services.bus = None
        await bus.stop()

    return stop


async def start_monitor(state: AppState) -> Stop:
    """Sweep in the background, under the app's escalation policy."""
    monitor = Monitor(
        state.db,
        state.clock,
        policy=state.policy,
        interval=state.settings.monitor_interval_seconds,
        batch_orders=state.settings.monitor_batch_orders,
        batch_seconds=state.settings.monitor_batch_seconds,
        pool=DrawingPool(state.settings.monitor_forecast_processes),
    )
    state.services.monitor = monitor
    monitor.start()

    async def stop() -> None:
        state.services.monitor = None
        await monitor.stop()

    return stop


async def start_deliverer(state: AppState) -> Stop:
    """Deliver webhooks in this process (WEBHOOK_DELIVERY_ENABLED), rung by the bus when it runs."""
    deliverer = Deliverer(state.db, DeliveryConfig.of(state.settings))
    state.services.deliverer = deliverer
    detach = attach(deliverer, state.services.bus)
    deliverer.start()

    async def stop() -> None:
        detach()
        state.services.deliverer = None
        await deliverer.stop()

    return stop


def default_components(settings: Settings) -> list[Component]:
    """What a plain ``create_app(settings)`` starts: the event bus, then the monitor and the webhook
    deliverer (each when enabled)."""
    found: list[Component] = [start_bus]
    if settings.monitor_enabled:
        found.append(start_monitor)
    if settings.webhook_delivery_enabled:
        found.append(start_deliverer)
    return found
