"""The jeopardy rules as set-based SQL: one query per kind of row finds the rows whose level changes.

Each rule builds, for its table, a CASE expression for the level and one for the reason, both
evaluated by the database over the tracked (open) rows. Only rows whose computed level or reason
differs from the stored one come back, so the Python side of a sweep grows with the changes, not
with the number of open orders. Party orders add their own rule (see ``register``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlmodel import SQLModel

from app.db import UTCDateTime
from app.orders import states
from app.orders.models import Activity, ActivityDependency, CustomerOrder

OPEN_ORDER = sorted(states.OPEN_ORDER)
OPEN_ACTIVITY = sorted(s for s in states.ACTIVITY.states if states.ACTIVITY.is_open(s))
DROPPED = sorted(states.WORK_DROPPED | states.WORK_DONE)


@dataclass(frozen=True)
class Context:
    """What a rule needs to know besides the rows: the time and the policy's thresholds."""

    now: datetime
    dialect: str
    at_risk_slack: float  # share of the request->committed window below which an order is at risk

    def at(self, when: datetime) -> ColumnElement[Any]:
        return literal(when, UTCDateTime)

    def epoch(self, column: Any) -> ColumnElement[Any]:
        """Seconds since 1970 of a timestamp column, on either backend."""
        if self.dialect == "sqlite":
            return (func.julianday(column) - 2440587.5) * 86400.0
        return func.extract("epoch", column)

    @property
    def now_epoch(self) -> float:
        return self.now.timestamp()


@dataclass(frozen=True)
class Evaluation:
    """The SQL a rule contributes: level and reason expressions, which rows it tracks, and its order."""

    source: Any  # the FROM clause: the rule's table, maybe joined to what it reads
    row: Any  # the table (or alias) whose rows get the level
    reason: ColumnElement[Any]  # CASE: the reason of the first rule that holds, NULL for none
    levels: dict[str, str]  # reason -> level (each reason belongs to one level)
    tracked: ColumnElement[bool]
    order_id: ColumnElement[Any]


@dataclass(frozen=True)
class Rule:
    entity: str  # the event's entity: order, activity, partyOrder
    model: type[SQLModel]
    build: Callable[[Context], Evaluation]
    event_keys: Callable[[Any], dict[str, Any]]  # order_id / party_order_id / party_id of a row


@dataclass(frozen=True)
class LevelChange:
    rule: Rule
    id: int
    order_id: int | None
    before: str
    before_reason: str | None
    level: str
    reason: str | None


def levels_of(pairs: Sequence[tuple[ColumnElement[bool], str, str]], tracked: ColumnElement[bool]) -> tuple[Any, dict[str, str]]:
    """One CASE giving the reason of the first (condition, level, reason) that holds; untracked rows get NULL.

    The level follows from the reason, so the database evaluates one expression per row, not two.
    """
    reason = case((~tracked, null()), *[(cond, literal(why)) for cond, _, why in pairs], else_=null())
    return reason, {why: level for _, level, why in pairs}


def customer_order_rule(ctx: Context) -> Evaluation:
    t = CustomerOrder.__table__
    o = t.c
    tracked = o.state.in_(OPEN_ORDER)
    finish = case((o.expected_completion > ctx.at(ctx.now), ctx.epoch(o.expected_completion)), else_=literal(ctx.now_epoch))
    slack = ctx.epoch(o.committed_date) - finish
    window = ctx.epoch(o.committed_date) - ctx.epoch(o.requested_at)
    percent = round(ctx.at_risk_slack * 100)
    reason, levels = levels_of(
        [
            (o.committed_date <= ctx.at(ctx.now), "late", "The committed date has passed and the order is not complete."),
            (o.expected_completion > o.committed_date, "jeopardy", "The expected completion is after the committed date."),
            (
                slack < window * ctx.at_risk_slack,
                "atRisk",
                f"Less than {percent}% of the time between request and committed date is left after the open work.",
            ),
        ],
        tracked,
    )
    return Evaluation(source=t, row=t, reason=reason, levels=levels, tracked=tracked, order_id=o.id)


def activity_rule(ctx: Context) -> Evaluation:
    a = Activity.__table__.alias("a")
    p = Activity.__table__.alias("p")
    d = ActivityDependency.__table__
    o = CustomerOrder.__table__
    tracked = and_(a.c.state.in_(OPEN_ACTIVITY), o.c.state.in_(OPEN_ORDER))
    predecessor_slipped = and_(
        a.c.actual_start.is_(None),
        exists().where(
            d.c.activity_id == a.c.id,
            p.c.id == d.c.predecessor_id,
            p.c.state.not_in(DROPPED),
            or_(func.coalesce(p.c.expected_end, p.c.planned_end) > a.c.planned_start, a.c.planned_start <= ctx.at(ctx.now)),
        ),
    )
    reason, levels = levels_of(
        [
            (a.c.planned_end <= ctx.at(ctx.now), "late", "The planned end has passed and the activity is not done."),
            (predecessor_slipped, "jeopardy", "It cannot start as planned: a predecessor is expected to finish after its planned start."),
            (a.c.expected_end > a.c.planned_end, "jeopardy", "Its expected end is after its planned end."),
        ],
        tracked,
    )
    source = a.join(o, o.c.id == a.c.order_id)
    return Evaluation(source=source, row=a, reason=reason, levels=levels, tracked=tracked, order_id=a.c.order_id)


RULES: list[Rule] = [
    Rule("activity", Activity, activity_rule, lambda a: {"order_id": a.order_id}),
    Rule("order", CustomerOrder, customer_order_rule, lambda o: {"order_id": o.id}),
]


def register(rule: Rule) -> None:
    """Another domain (party orders) adds the rule for its rows; it is evaluated before the orders."""
    if all(r.entity != rule.entity for r in RULES):
        RULES.insert(len(RULES) - 1, rule)


async def changes(
    session: AsyncSession, rule: Rule, ctx: Context, order_ids: Sequence[int] | None = None, limit: int | None = None
) -> list[LevelChange]:
    """Rows of one rule whose computed level or reason differs from the stored one."""
    ev = rule.build(ctx)
    t = ev.row
    query = (
        select(t.c.id, ev.order_id, t.c.jeopardy_level, t.c.jeopardy_reason, ev.reason)
        .select_from(ev.source)
        .where(or_(ev.tracked, t.c.jeopardy_level != "none"))
        .where(ev.reason.is_distinct_from(t.c.jeopardy_reason))
        .order_by(t.c.id)
    )
    if order_ids is not None:
        query = query.where(ev.order_id.in_(list(order_ids)))
    if limit is not None:
        query = query.limit(limit)
    rows = await session.execute(query)
    return [
        LevelChange(rule, i, oid, before, before_reason, ev.levels.get(reason, "none") if reason else "none", reason)
        for i, oid, before, before_reason, reason in rows
    ]
