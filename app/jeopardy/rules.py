"""The jeopardy rules as set-based SQL: one query per kind of row finds the rows whose level changes.

Each rule builds, for its table, a CASE expression for the reason (the level follows from it),
evaluated by the database over the rows of the orders a sweep looks at. Only rows whose computed
reason differs from the stored one come back. Each rule also names its *thresholds*: the times at
which its outcome can change while the row's data does not (a committed date, a planned end, a
report due). A row stores the next of them as ``jeopardy_check_at``, so a sweep finds the rows
time has reached through an index instead of evaluating every open row (see ``candidates.py``).
The party order rule is in ``party_rules.py``; ``rulebook.py`` lists them all, in evaluation order.

Building a rule's statement costs more than running it over a batch, and every write and every
sweep batch runs them, so each statement is built once per process for each rule, backend and
policy (``evaluation``, ``_storing_statement``, ...) and run with the time and the ids as its
parameters (``Context.parameters``). A rule reads the time only through ``ctx.at(ctx.now)`` and
``ctx.now_epoch``, the statement's ``now`` and ``now_epoch`` (``tests/test_jeopardy_rules.py``
checks that two times build the same statement).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import Float, and_, bindparam, case, cast, exists, func, literal, null, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlmodel import SQLModel

from app.columns import UTCDateTime, table_of
from app.db import ids_value, in_ids, streamed_ids
from app.orders import states
from app.orders.models import Activity, ActivityDependency, ActivityPartyDependency, CustomerOrder
from app.party_orders import states as party_states
from app.party_orders.models import PartyOrder
from app.turns import Turns

OPEN_ORDER = sorted(states.OPEN_ORDER)
OPEN_ACTIVITY = sorted(s for s in states.ACTIVITY.states if states.ACTIVITY.is_open(s))
DROPPED = sorted(states.WORK_DROPPED | states.WORK_DONE)
DELIVERED_OR_DROPPED = sorted(party_states.DONE | party_states.DROPPED)  # party orders that hold no activity
NEVER = 1e18  # stands for "no threshold ahead" inside LEAST/MIN, which SQLite's MIN cannot skip as NULL
# Check a row this long after its threshold: a rule may hold only strictly after it (``slack < ...``),
# and SQLite's julianday arithmetic is exact only to ~50 µs.
AFTER = 0.01
# The time the statements are built at (``Context.template``); each run gives its own.
BUILT_AT = datetime(2000, 1, 1, tzinfo=timezone.utc)
# Statements kept per process: rules x backends x policies in use (tests try several policies).
KEPT_STATEMENTS = 256


@dataclass(frozen=True)
class Context:
    """What a rule needs to know besides the rows: the time and the policy's thresholds."""

    now: datetime
    dialect: str
    at_risk_slack: float  # share of the request->committed window below which an order is at risk
    at_risk_probability: float | None = None  # forecast chance of meeting the committed date below which it is

    def at(self, when: datetime) -> ColumnElement[Any]:
        """An instant in SQL; the context's own time is the statement's ``now`` parameter."""
        if when == self.now:
            return bindparam("now", when, type_=UTCDateTime)
        return literal(when, UTCDateTime)

    def epoch(self, column: Any) -> ColumnElement[Any]:
        """Seconds since 1970 of a timestamp column, on either backend."""
        if self.dialect == "sqlite":
            return (func.julianday(column) - 2440587.5) * 86400.0
        return func.extract("epoch", column)

    @property
    def now_epoch(self) -> ColumnElement[Any]:
        """Seconds since 1970 of the context's time: the statement's ``now_epoch`` parameter."""
        return bindparam("now_epoch", self.now.timestamp(), type_=Float)

    def template(self) -> Context:
        """This context at ``BUILT_AT``: the key of the statements built for it, whatever its time."""
        return replace(self, now=BUILT_AT)

    def parameters(self, order_ids: Sequence[int] | None = None) -> dict[str, Any]:
        """A built statement's parameters at this context's time (and for these orders)."""
        found: dict[str, Any] = {"now": self.now, "now_epoch": self.now.timestamp()}
        if order_ids is not None:
            found["ids"] = ids_value(order_ids, self.dialect)
        return found


@dataclass(frozen=True)
class Evaluation:
    """The SQL a rule contributes: level and reason expressions, which rows it tracks, and its order."""

    row: Any  # the rule's table, whose rows get the level (what else it reads, it reads by subquery)
    reason: ColumnElement[Any]  # CASE: the reason of the first rule that holds, NULL for none
    levels: dict[str, str]  # reason -> level (each reason belongs to one level)
    tracked: ColumnElement[bool]
    order_id: ColumnElement[Any]
    thresholds: list[ColumnElement[Any]]  # epoch seconds at which the outcome may change with time alone
    # Reasons worded by the row itself (a stored sentence), by their fixed start: (prefix, level).
    worded: tuple[tuple[str, str], ...] = ()

    def level_of(self, reason: str | None) -> str:
        if reason is None:
            return "none"
        if reason in self.levels:
            return self.levels[reason]
        return next((level for prefix, level in self.worded if reason.startswith(prefix)), "none")

    def level_expression(self, reason: Any) -> ColumnElement[Any]:
        """The level of an evaluated reason, in SQL."""
        worded = (
            case(*[(reason.startswith(prefix), literal(level)) for prefix, level in self.worded], else_=literal("none"))
            if self.worded
            else literal("none")
        )
        return case(self.levels, value=reason, else_=worded)


@dataclass(frozen=True)
class Rule:
    entity: str  # the event's entity: order, activity, partyOrder
    model: type[SQLModel]
    build: Callable[[Context], Evaluation]
    event_keys: Callable[[dict[str, Any]], dict[str, Any]]  # order_id / party_order_id / party_id, from a row's columns


@dataclass(frozen=True)
class LevelChange:
    rule: Rule
    id: int
    order_id: int | None
    before: str
    before_reason: str | None
    level: str
    reason: str | None
    columns: dict[str, Any]  # id, order_id and the EXTRA_COLUMNS the row's table has, as they were
    stored: bool = False  # the row holds the new level already (a sweep's one UPDATE on PostgreSQL)


# Read with each change, where the table has them: an event key, the level's start, the escalation level.
EXTRA_COLUMNS = ("party_id", "jeopardy_since", "escalation_level")


def levels_of(
    pairs: Sequence[tuple[ColumnElement[bool], str, str | Any]], tracked: ColumnElement[bool]
) -> tuple[Any, dict[str, str]]:
    """One CASE giving the reason of the first (condition, level, reason) that holds; untracked rows get NULL.

    The level follows from the reason, so the database evaluates one expression per row, not two. A
    reason may be a column (a sentence the row stores); its level is then found by ``Evaluation.worded``.
    """
    reason = case(
        (~tracked, null()), *[(cond, literal(why) if isinstance(why, str) else why) for cond, _, why in pairs], else_=null()
    )
    return reason, {why: level for _, level, why in pairs if isinstance(why, str)}


# The start of every reason the forecast words (app/forecast/service.py writes the sentence).
FORECAST_REASON = "The forecast gives it a "


def customer_order_rule(ctx: Context) -> Evaluation:
    t = table_of(CustomerOrder)
    o = t.c
    tracked = o.state.in_(OPEN_ORDER)
    percent = round(ctx.at_risk_slack * 100)
    pairs: list[tuple[ColumnElement[bool], str, str | Any]] = [
        (o.committed_date <= ctx.at(ctx.now), "late", "The committed date has passed and the order is not complete."),
        (o.expected_completion > o.committed_date, "jeopardy", "The expected completion is after the committed date."),
    ]
    worded: tuple[tuple[str, str], ...] = ()
    if ctx.at_risk_probability is not None:  # before the slack rule: it names what decides the date
        unlikely = and_(o.forecast_on_time < ctx.at_risk_probability, o.forecast_summary.is_not(None))
        pairs.append((unlikely, "atRisk", o.forecast_summary))
        worded = ((FORECAST_REASON, "atRisk"),)
    # Slack measured in the working time of whoever does the last work: too little once the finish
    # (the expected completion, or now once that has passed) is after the stored instant (slack.py).
    pairs.append(
        (
            or_(o.expected_completion > o.at_risk_from, o.at_risk_from < ctx.at(ctx.now)),
            "atRisk",
            f"Less than {percent}% of the time between request and committed date is left after the open work.",
        )
    )
    reason, levels = levels_of(pairs, tracked)
    # Not the expected completion: once now passes it, slack shrinks with time, but it crosses the
    # at-risk line only at the at-risk instant (if it was above it), so that instant is the threshold.
    # The forecast's own time to be drawn again: the sweep reaches the order then (and reconciles it).
    thresholds = [ctx.epoch(o.committed_date), ctx.epoch(o.at_risk_from), o.forecast_due_at]
    return Evaluation(row=t, reason=reason, levels=levels, tracked=tracked, order_id=o.id, thresholds=thresholds, worded=worded)


def activity_rule(ctx: Context) -> Evaluation:
    a = table_of(Activity)
    p = table_of(Activity).alias("p")
    d = table_of(ActivityDependency)
    o = table_of(CustomerOrder)
    # A subquery, not a join: the row's order is one index lookup, and UPDATE can read it the same way.
    order_state = select(o.c.state).where(o.c.id == a.c.order_id).scalar_subquery()
    tracked = and_(a.c.state.in_(OPEN_ACTIVITY), order_state.in_(OPEN_ORDER))
    predecessor_slipped = and_(
        a.c.actual_start.is_(None),
        exists().where(
            d.c.activity_id == a.c.id,
            p.c.id == d.c.predecessor_id,
            p.c.state.not_in(DROPPED),
            or_(func.coalesce(p.c.expected_end, p.c.planned_end) > a.c.planned_start, a.c.planned_start <= ctx.at(ctx.now)),
        ),
    )
    # A party order it waits on slipped as a predecessor does: its delivery is expected (or committed)
    # after the planned start, or the planned start came and it has not delivered.
    w = table_of(ActivityPartyDependency)
    po = table_of(PartyOrder)
    undelivered = and_(w.c.activity_id == a.c.id, po.c.id == w.c.party_order_id, po.c.state.not_in(DELIVERED_OR_DROPPED))
    delivery_slipped = and_(
        a.c.actual_start.is_(None),
        exists().where(
            undelivered,
            or_(
                func.coalesce(po.c.expected_delivery, po.c.committed_delivery) > a.c.planned_start,
                a.c.planned_start <= ctx.at(ctx.now),
            ),
        ),
    )
    reason, levels = levels_of(
        [
            (a.c.planned_end <= ctx.at(ctx.now), "late", "The planned end has passed and the activity is not done."),
            (
                predecessor_slipped,
                "jeopardy",
                "It cannot start as planned: a predecessor is expected to finish after its planned start.",
            ),
            (
                delivery_slipped,
                "jeopardy",
                "It cannot start as planned: a party order it waits on is expected to deliver after its planned start.",
            ),
            (a.c.expected_end > a.c.planned_end, "jeopardy", "Its expected end is after its planned end."),
        ],
        tracked,
    )
    # The planned start matters only to an activity not started yet whose predecessor is not done
    # either, or that waits on a party order not delivered yet.
    waiting = and_(
        a.c.actual_start.is_(None),
        or_(
            exists().where(d.c.activity_id == a.c.id, p.c.id == d.c.predecessor_id, p.c.state.not_in(DROPPED)),
            exists().where(undelivered),
        ),
    )
    thresholds = [ctx.epoch(a.c.planned_end), case((waiting, ctx.epoch(a.c.planned_start)), else_=null())]
    return Evaluation(row=a, reason=reason, levels=levels, tracked=tracked, order_id=a.c.order_id, thresholds=thresholds)


ACTIVITY_RULE = Rule("activity", Activity, activity_rule, lambda a: {"order_id": a["order_id"]})
ORDER_RULE = Rule("order", CustomerOrder, customer_order_rule, lambda o: {"order_id": o["id"]})


def next_check(ctx: Context, ev: Evaluation) -> ColumnElement[Any]:
    """Epoch seconds of the rule's first threshold after now; NULL when none is ahead or the row is not tracked."""
    ahead = [func.coalesce(case((t + AFTER > ctx.now_epoch, t), else_=null()), NEVER) for t in ev.thresholds]
    least = func.least(*ahead) if ctx.dialect == "postgresql" else func.min(*ahead)
    return case((ev.tracked, func.nullif(least, NEVER) + AFTER), else_=null())


@lru_cache(maxsize=KEPT_STATEMENTS)
def evaluation(rule: Rule, key: Context) -> Evaluation:
    """A rule's SQL for a context built at ``BUILT_AT`` (``Context.template``), built once."""
    return rule.build(key)


def _scope(ev: Evaluation, key: Context) -> ColumnElement[bool]:
    """The rows of the orders named by the statement's ``ids`` parameter."""
    return in_ids(ev.order_id, [], key.dialect, name="ids")


@lru_cache(maxsize=KEPT_STATEMENTS)
def _due_statement(rule: Rule, key: Context) -> Any:
    ev = evaluation(rule, key)
    return select(ev.order_id).where(ev.row.c.jeopardy_check_at <= key.now_epoch).distinct()


async def due_orders(session: AsyncSession, rule: Rule, ctx: Context, turns: Turns | None = None) -> set[int]:
    """Orders having a row of this rule whose next threshold time has come (an index range scan)."""
    return await streamed_ids(session, _due_statement(rule, ctx.template()), ctx.parameters(), turns=turns)


@lru_cache(maxsize=KEPT_STATEMENTS)
def _changes_statements(rule: Rule, key: Context) -> tuple[Evaluation, list[str], Any, Any]:
    """A rule's read of the rows whose reason changed, and its store of their next check times."""
    ev = evaluation(rule, key)
    t = ev.row
    extra = [name for name in EXTRA_COLUMNS if name in t.c]
    columns = (t.c.id, ev.order_id, t.c.jeopardy_level, t.c.jeopardy_reason, ev.reason, *[t.c[name] for name in extra])
    changed = select(*columns).where(_scope(ev, key), ev.reason.is_distinct_from(t.c.jeopardy_reason))
    store = update(t).where(_scope(ev, key)).values(jeopardy_check_at=next_check(key, ev))
    return ev, extra, changed, store


async def changes(
    session: AsyncSession, rule: Rule, ctx: Context, order_ids: Sequence[int], *, store_checks: bool = False
) -> list[LevelChange]:
    """Rows of these orders whose computed level or reason differs from the stored one.

    With ``store_checks`` (a sweep) every row's next check time is stored as well (on PostgreSQL see
    ``changes_of``, which does it for every rule in one statement).
    """
    if store_checks and ctx.dialect == "postgresql":
        return (await changes_of(session, [rule], ctx, order_ids))[rule.entity]
    ev, extra, changed, store = _changes_statements(rule, ctx.template())
    parameters = ctx.parameters(order_ids)
    rows = list(await session.execute(changed, parameters))
    if store_checks:
        await session.execute(store, parameters, execution_options={"synchronize_session": False})
    return _level_changes(rule, ev, extra, rows, stored=False)


async def changes_of(
    session: AsyncSession, wanted: Sequence[Rule], ctx: Context, order_ids: Sequence[int]
) -> dict[str, list[LevelChange]]:
    """A sweep's rules on PostgreSQL, by entity: one statement evaluates and stores them all.

    Each rule is an ``UPDATE ... FROM (evaluation) ... RETURNING`` (``_storing``) in a CTE of its
    own, and the statement returns their rows together: one round trip per batch, not one per rule.
    The CTEs see the same snapshot, which is right because no rule reads the levels another stores
    (a rule that would must go in a statement of its own after that one).
    """
    parameters = ctx.parameters(order_ids)
    options = {"synchronize_session": False}
    if len(wanted) == 1:
        rule = wanted[0]
        ev = evaluation(rule, ctx.template())
        extra = [name for name in EXTRA_COLUMNS if name in ev.row.c]
        rows = await session.execute(_storing_one(rule, ctx.template()), parameters, execution_options=options)
        return {rule.entity: _level_changes(rule, ev, extra, rows, stored=True)}
    statement, built, everywhere = _storing_together(tuple(wanted), ctx.template())
    together = (await session.execute(statement, parameters, execution_options=options)).all()
    found: dict[str, list[LevelChange]] = {}
    for n, (rule, ev) in enumerate(built):
        extra = [name for name in EXTRA_COLUMNS if name in ev.row.c]
        own = [
            (i, oid, before, before_reason, reason, *[value for name, value in zip(everywhere, rest) if name in extra])
            for number, i, oid, before, before_reason, reason, *rest in together
            if number == n
        ]
        found[rule.entity] = _level_changes(rule, ev, extra, own, stored=True)
    return found


@lru_cache(maxsize=KEPT_STATEMENTS)
def _storing_one(rule: Rule, key: Context) -> Any:
    ev = evaluation(rule, key)
    return _storing(key, ev, [name for name in EXTRA_COLUMNS if name in ev.row.c])


@lru_cache(maxsize=KEPT_STATEMENTS)
def _storing_together(wanted: tuple[Rule, ...], key: Context) -> tuple[Any, list[tuple[Rule, Evaluation]], list[str]]:
    """The rules' ``_storing`` statements as CTEs of one, their rows together (numbered by rule);
    the rules with their evaluations, and the extra columns of any of them (NULL where a table has none)."""
    built = [(rule, evaluation(rule, key)) for rule in wanted]
    everywhere = [name for name in EXTRA_COLUMNS if any(name in ev.row.c for _, ev in built)]
    types = {name: next(ev.row.c[name].type for _, ev in built if name in ev.row.c) for name in everywhere}
    parts = []
    for n, (rule, ev) in enumerate(built):
        stored = _storing(key, ev, [name for name in everywhere if name in ev.row.c]).cte(f"stored_{rule.entity}")
        parts.append(
            select(
                literal(n).label("rule"),
                stored.c.id,
                stored.c.order_id,
                stored.c.before,
                stored.c.before_reason,
                stored.c.reason,
                *[stored.c[name] if name in ev.row.c else cast(null(), types[name]).label(name) for name in everywhere],
            )
        )
    return union_all(*parts), built, everywhere


def _storing(ctx: Context, ev: Evaluation, extra: list[str]) -> Any:
    """A sweep's statement for one rule on PostgreSQL: evaluate, then store check time, level, reason
    and the level's start where any of them changes. A row is written at most once per sweep (an
    indexed column changes, so every write touches every index of the table) and not at all when
    nothing changes; RETURNING hands back the values from before."""
    t = ev.row
    c = (
        select(
            t.c.id,
            ev.order_id.label("order_id"),
            t.c.jeopardy_level.label("before"),
            t.c.jeopardy_reason.label("before_reason"),
            ev.reason.label("reason"),
            next_check(ctx, ev).label("check_at"),
            t.c.jeopardy_check_at.label("old_check"),
            *[t.c[name] for name in extra],
        )
        .where(_scope(ev, ctx))
        # OFFSET 0 keeps PostgreSQL from pulling the subquery up into the UPDATE, where each use of
        # its columns (the filter, the level, its start) would evaluate the rule's CASE and its
        # subqueries again: once per row instead of up to nine times.
        .offset(0)
        .subquery("evaluated")
    )
    level = ev.level_expression(c.c.reason)  # from the evaluated reason, not evaluated again
    values: dict[str, Any] = {"jeopardy_check_at": c.c.check_at, "jeopardy_level": level, "jeopardy_reason": c.c.reason}
    if "jeopardy_since" in t.c:  # as change_levels computes it: a new level starts now, "none" has no start
        values["jeopardy_since"] = case(
            (level == c.c.before, t.c.jeopardy_since), (level != "none", ctx.at(ctx.now)), else_=null()
        )
    return (
        update(t)
        .where(
            t.c.id == c.c.id, or_(c.c.check_at.is_distinct_from(c.c.old_check), c.c.reason.is_distinct_from(c.c.before_reason))
        )
        .values(values)
        .returning(c.c.id, c.c.order_id, c.c.before, c.c.before_reason, c.c.reason, *[c.c[name] for name in extra])
    )


def _level_changes(rule: Rule, ev: Evaluation, extra: list[str], rows: Any, *, stored: bool) -> list[LevelChange]:
    found = [
        LevelChange(
            rule,
            i,
            oid,
            before,
            before_reason,
            ev.level_of(reason),
            reason,
            {"id": i, "order_id": oid, **dict(zip(extra, rest))},
            stored,
        )
        for i, oid, before, before_reason, reason, *rest in rows
        if reason != before_reason
    ]
    return sorted(found, key=lambda c: c.id)
