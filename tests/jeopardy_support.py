"""Helpers for the jeopardy tests: a monitor on the test database, and reading alerts from the log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.clock import FrozenClock
from app.db import Database
from app.events import Event
from app.jeopardy.monitor import Monitor
from app.jeopardy.policy import Policy, parse_policy

NO_ESCALATION = Policy(at_risk_slack=0.2)


def policy(**data: Any) -> Policy:
    return parse_policy({"at_risk_slack": 0.2, **data}, "test policy")


def monitor(db: Database, clock: FrozenClock, used: Policy = NO_ESCALATION, name: str | None = None) -> Monitor:
    return Monitor(db, clock, interval=0.05, policy=used, name=name)


async def alerts(
    db: Database, order_id: str | int | None = None, prefix: tuple[str, ...] = ("jeopardy", "escalat")
) -> list[Event]:
    """Jeopardy and escalation events, oldest first (of one order if given)."""
    async with db.read() as session:
        query = select(Event).order_by(col(Event.seq))
        if order_id is not None:
            query = query.where(col(Event.order_id) == int(order_id))
        rows = list((await session.execute(query)).scalars())
    return [e for e in rows if e.type.startswith(prefix)]


def levels(events: list[Event], entity: str = "order") -> list[str]:
    """The jeopardy levels an entity went through, from its jeopardyChanged events."""
    return [e.data["after"]["jeopardy_level"] for e in events if e.type == "jeopardyChanged" and e.entity == entity]
