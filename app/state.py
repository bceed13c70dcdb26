"""What a running app holds: its settings, database and clock, and the background services the app
factory started (typed attributes, set by ``app.components``), and the escalation policy in force."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.graphql.planner import ReadPlanner
from app.jeopardy.monitor import Monitor
from app.jeopardy.policy import Policy
from app.realtime.bus import EventBus
from app.webhooks.delivery import Deliverer


@dataclass
class Services:
    """The background services running in this app; None when the app did not start one."""

    bus: EventBus | None = None
    monitor: Monitor | None = None
    deliverer: Deliverer | None = None
    read_planner: ReadPlanner | None = None  # READ_PLANNER on (PostgreSQL or SQLite)


@dataclass
class AppState:
    settings: Settings
    db: Database
    clock: Clock
    policy: Policy  # the escalation policy: loaded once by the app factory, handed to whoever needs it
    services: Services = field(default_factory=Services)
