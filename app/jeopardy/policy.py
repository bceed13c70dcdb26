"""The local escalation policy as data: load it from YAML, check it, and find what it escalates."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Integer, cast, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.calendars.book import CalendarBook, parse_calendars
from app.calendars.calendar import BusinessCalendar
from app.errors import InvalidInput
from app.jeopardy.models import LEVELS, RANK
from app.jeopardy.rules import OPEN_ORDER, in_ids
from app.orders.models import CustomerOrder
from app.orders.service import PRIORITIES
from app.party_orders import states as party_states
from app.party_orders.models import Party, PartyOrder

DEFAULT_FILE = Path(__file__).with_name("policy.yaml")
MAX_ESCALATION_LEVEL = 9
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_BUSINESS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*business\s+(hour|day)s?\s*$")
_UNITS = {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
CUSTOMER_ORDER, PARTY_ORDER = "customerOrder", "partyOrder"  # what a rule escalates
ACTIVE_PARTY_ORDER = sorted(party_states.ACTIVE)


@dataclass(frozen=True)
class EscalationRule:
    name: str
    level: str  # this jeopardy level or worse
    escalate_to: int
    after: timedelta = timedelta(0)  # time spent in the current jeopardy level
    business: bool = False  # ``after`` counts working time in the calendar of whoever does the work
    notify: tuple[str, ...] = ()
    priorities: frozenset[str] = frozenset()  # empty: any (of the customer order, also for party orders)
    customers: frozenset[str] = frozenset()  # empty: any
    applies_to: str = CUSTOMER_ORDER
    parties: frozenset[str] = frozenset()  # party names, for party order rules; empty: any


@dataclass(frozen=True)
class ForecastSettings:
    """How the completion forecast is drawn (see ``app/forecast``)."""

    draws: int = 500  # Monte Carlo draws per forecast
    min_samples: int = 5  # fewer closed cases than this: the plan is the forecast
    history: int = 200  # the most recent closed cases learned from, per activity kind and work group, per party
    refresh: timedelta | None = None  # a forecast drawn from history, no date moved, is drawn again after this long
    keep: timedelta = timedelta(minutes=1)  # a process reads the learned histories again after this long
    seed: int = 18


@dataclass(frozen=True)
class Policy:
    at_risk_slack: float = 0.2
    rules: tuple[EscalationRule, ...] = ()
    levels: dict[int, str] = field(default_factory=dict)  # escalation level -> who it reaches
    # An open order is atRisk when the forecast gives it less than this chance of meeting its committed date.
    at_risk_probability: float | None = None
    calendars: CalendarBook = field(default_factory=CalendarBook)
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    # What the policy was made of (``parse_policy``): a sweep under another policy than the last one
    # settles every open order once (levels, at-risk instants and forecasts depend on it).
    digest: str = ""

    @property
    def max_level(self) -> int:
        return max([MAX_ESCALATION_LEVEL, *self.levels, *(r.escalate_to for r in self.rules)])


@dataclass(frozen=True)
class Escalate:
    """What the policy asks for one customer order or party order now."""

    order_id: int  # the customer order (of the party order)
    from_level: int
    to_level: int
    rule: EscalationRule
    party_order_id: int | None = None


def parse_duration(value: Any, where: str) -> timedelta:
    """``30m``, ``4h``, ``2d``, ``1w``, ``45s`` or a number of minutes."""
    match = _DURATION.match(str(value))
    if not match:
        raise InvalidInput(f"{where}: '{value}' is not a duration like 30m, 4h or 2d.", field="after")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def parse_after(value: Any, calendar: BusinessCalendar, where: str) -> tuple[timedelta, bool]:
    """A rule's ``after``: wall-clock (``4h``) or working time (``4 business hours``, ``2 business days``).

    Business durations are kept as working seconds; a business day is the default calendar's working day.
    """
    match = _BUSINESS.match(str(value))
    if not match:
        return parse_duration(value, where), False
    amount = float(match.group(1))
    seconds = amount * (3600 if match.group(2) == "hour" else calendar.day_seconds)
    return timedelta(seconds=seconds), True


def cutoff(calendar: BusinessCalendar, rule: EscalationRule, now: datetime) -> datetime:
    """The latest start of a jeopardy level that has lasted ``rule.after`` by ``now``."""
    return calendar.add(now, -rule.after.total_seconds()) if rule.business else now - rule.after


def _forecast_settings(raw: Any, source: str) -> ForecastSettings:
    if raw is None:
        return ForecastSettings()
    if not isinstance(raw, dict) or set(raw) - {"draws", "min_samples", "history", "refresh", "keep", "seed"}:
        raise InvalidInput(f"{source}: forecast has draws, min_samples, history, refresh, keep and seed.", field="forecast")
    numbers = {k: raw.get(k, getattr(ForecastSettings, k)) for k in ("draws", "min_samples", "history", "seed")}
    if (
        not all(isinstance(v, int) and v >= 0 for v in numbers.values())
        or not 1 <= numbers["draws"] <= 10000
        or numbers["history"] < 1
    ):
        raise InvalidInput(
            f"{source}: forecast draws (1..10000), min_samples, history (1 or more) and seed are whole numbers.", field="forecast"
        )
    refresh = parse_duration(raw["refresh"], f"{source} forecast refresh") if raw.get("refresh") is not None else None
    if refresh is not None and refresh <= timedelta(0):
        raise InvalidInput(f"{source}: forecast refresh must be longer than 0.", field="forecast")
    keep = parse_duration(raw.get("keep", "1m"), f"{source} forecast keep")
    return ForecastSettings(refresh=refresh, keep=keep, **numbers)


def _names(value: Any, where: str, allowed: tuple[str, ...] | None = None) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(f"{where} must be a list of names.", field=where)
    if allowed is not None and (unknown := set(value) - set(allowed)):
        raise InvalidInput(f"{where}: unknown {', '.join(sorted(unknown))}; use {', '.join(allowed)}.", field=where)
    return frozenset(value)


def parse_policy(data: Any, source: str = "policy") -> Policy:
    """Check a policy given as data (parsed YAML or JSON); every mistake is INVALID_INPUT naming the spot."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: the policy must be a mapping with 'rules'.", field="policy")
    slack = data.get("at_risk_slack", 0.2)
    if not isinstance(slack, (int, float)) or not 0 <= slack < 1:
        raise InvalidInput(f"{source}: at_risk_slack must be a number from 0 up to (not including) 1.", field="at_risk_slack")
    probability = data.get("at_risk_probability")
    if probability is not None and (not isinstance(probability, (int, float)) or not 0 < probability <= 1):
        raise InvalidInput(f"{source}: at_risk_probability must be a number above 0 and at most 1.", field="at_risk_probability")
    calendars = parse_calendars(data.get("calendars"), source)
    levels = data.get("levels") or {}
    if not isinstance(levels, dict) or not all(isinstance(k, int) and 0 < k <= MAX_ESCALATION_LEVEL for k in levels):
        raise InvalidInput(f"{source}: levels maps escalation levels 1..{MAX_ESCALATION_LEVEL} to names.", field="levels")
    rules, names = [], set()
    for n, raw in enumerate(data.get("rules") or []):
        where = f"{source} rule {n + 1}"
        if not isinstance(raw, dict):
            raise InvalidInput(f"{where} must be a mapping.", field="rules")
        if unknown := set(raw) - {
            "name",
            "level",
            "after",
            "escalate_to",
            "notify",
            "priorities",
            "customers",
            "applies_to",
            "parties",
        }:
            raise InvalidInput(f"{where}: unknown keys {', '.join(sorted(unknown))}.", field="rules")
        applies_to = raw.get("applies_to", CUSTOMER_ORDER)
        if applies_to not in (CUSTOMER_ORDER, PARTY_ORDER):
            raise InvalidInput(f"{where}: applies_to must be {CUSTOMER_ORDER} or {PARTY_ORDER}.", field="applies_to")
        if "parties" in raw and applies_to != PARTY_ORDER:
            raise InvalidInput(f"{where}: parties only narrows a rule that applies_to {PARTY_ORDER}.", field="parties")
        name = str(raw.get("name") or f"rule-{n + 1}")
        if name in names:
            raise InvalidInput(f"{where}: the name '{name}' is used twice.", field="rules")
        names.add(name)
        level = raw.get("level")
        if level not in LEVELS[1:]:
            raise InvalidInput(f"{where}: level must be one of {', '.join(LEVELS[1:])}.", field="level")
        to = raw.get("escalate_to")
        if not isinstance(to, int) or not 0 < to <= MAX_ESCALATION_LEVEL:
            raise InvalidInput(f"{where}: escalate_to must be a level from 1 to {MAX_ESCALATION_LEVEL}.", field="escalate_to")
        after, business = parse_after(raw.get("after", 0), calendars.default, where)
        rules.append(
            EscalationRule(
                name=name,
                level=level,
                escalate_to=to,
                after=after,
                business=business,
                notify=tuple(sorted(_names(raw.get("notify"), f"{where} notify"))),
                priorities=_names(raw.get("priorities"), f"{where} priorities", PRIORITIES),
                customers=_names(raw.get("customers"), f"{where} customers"),
                applies_to=applies_to,
                parties=_names(raw.get("parties"), f"{where} parties"),
            )
        )
    return Policy(
        at_risk_slack=float(slack),
        rules=tuple(rules),
        levels={int(k): str(v) for k, v in levels.items()},
        at_risk_probability=None if probability is None else float(probability),
        calendars=calendars,
        forecast=_forecast_settings(data.get("forecast"), source),
        digest=_digest(data),
    )


def _digest(data: dict[Any, Any]) -> str:
    """What a policy was made of, as a short digest (the same file gives the same digest)."""
    try:
        text = json.dumps(data, sort_keys=True, default=str)
    except TypeError:  # keys of mixed kinds in a part the policy does not read: sorted by their text
        text = repr(sorted(data.items(), key=lambda kv: str(kv[0])))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in ``path`` (YAML or JSON), or the one shipped with the package."""
    file = Path(path) if path else DEFAULT_FILE
    try:
        data = yaml.safe_load(file.read_text())
    except OSError as exc:
        raise InvalidInput(f"The escalation policy {file} cannot be read: {exc.strerror}.", field="policy") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"The escalation policy {file} is not valid YAML: {exc}.", field="policy") from exc
    return parse_policy(data, str(file))


async def escalations_due(
    session: AsyncSession, policy: Policy, now: datetime, order_ids: list[int] | None = None
) -> list[Escalate]:
    """Open customer and party orders that a rule escalates above their current level: one statement,
    an indexed query per rule (``UNION ALL``).

    Only orders already in jeopardy are read, so the work grows with those, not with all open orders.
    """
    o = CustomerOrder
    book = policy.calendars
    parts = []
    for n, rule in enumerate(policy.rules):
        levels = [lvl for lvl in LEVELS if RANK[lvl] >= RANK[rule.level]]
        for query in _rule_queries(rule, levels, book, now):
            if rule.priorities:
                query = query.where(col(o.priority).in_(sorted(rule.priorities)))
            if rule.customers:
                query = query.where(col(o.customer_id).in_(sorted(rule.customers)))
            if order_ids is not None:  # a party order's own column: its index finds the batch's few
                of_order = col(PartyOrder.order_id) if rule.applies_to == PARTY_ORDER else col(o.id)
                query = query.where(in_ids(of_order, order_ids, session.bind.dialect.name if session.bind else "sqlite"))
            parts.append(query.add_columns(literal(n).label("rule")))
    if not parts:
        return []
    # Of the rules that escalate a row, the highest level wins, and of those the first in the policy
    # (the statement's rows come in no particular order).
    statement: Any = union_all(*parts) if len(parts) > 1 else parts[0]
    best: dict[tuple[int, int | None], tuple[int, int, Escalate]] = {}
    for order_id, current, party_order_id, n in await session.execute(statement):
        rule = policy.rules[n]
        rank = (-rule.escalate_to, n)
        found = best.get((order_id, party_order_id))
        if found is None or rank < found[:2]:
            best[(order_id, party_order_id)] = (*rank, Escalate(order_id, current, rule.escalate_to, rule, party_order_id))
    return [best[k][2] for k in sorted(best, key=lambda k: (k[0], k[1] or 0))]


def _rule_queries(rule: EscalationRule, levels: list[str], book: CalendarBook, now: datetime) -> list[Any]:
    """The queries of one rule; a party order rule in business time asks once per party calendar."""
    o, po = CustomerOrder, PartyOrder
    if rule.applies_to != PARTY_ORDER:
        return [
            select(col(o.id), col(o.escalation_level), cast(null(), Integer)).where(
                col(o.jeopardy_level).in_(levels),
                col(o.state).in_(OPEN_ORDER),
                col(o.escalation_level) < rule.escalate_to,
                col(o.jeopardy_since) <= cutoff(book.default, rule, now),
            )
        ]

    own = sorted(name for name in book.parties if not rule.parties or name in rule.parties) if rule.business else []

    def party_query(since: datetime) -> Any:
        query = select(col(po.order_id), col(po.escalation_level), col(po.id)).join(o, col(o.id) == col(po.order_id))
        if rule.parties or own:  # the party's name is read only when a name matters
            query = query.join(Party, col(Party.id) == col(po.party_id))
        return query.where(
            col(po.jeopardy_level).in_(levels),
            col(po.state).in_(ACTIVE_PARTY_ORDER),
            col(po.escalation_level) < rule.escalate_to,
            col(po.jeopardy_since) <= since,
        )

    rest = party_query(cutoff(book.default, rule, now))
    if rule.parties:
        rest = rest.where(col(Party.name).in_(sorted(rule.parties)))
    if own:
        rest = rest.where(col(Party.name).not_in(own))
    return [rest] + [party_query(cutoff(book.parties[name], rule, now)).where(col(Party.name) == name) for name in own]
