"""The local escalation policy as data: load it from YAML, check it, and find what it escalates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Select, null, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

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
_UNITS = {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
CUSTOMER_ORDER, PARTY_ORDER = "customerOrder", "partyOrder"  # what a rule escalates
ACTIVE_PARTY_ORDER = sorted(party_states.ACTIVE)


@dataclass(frozen=True)
class EscalationRule:
    name: str
    level: str  # this jeopardy level or worse
    escalate_to: int
    after: timedelta = timedelta(0)  # time spent in the current jeopardy level
    notify: tuple[str, ...] = ()
    priorities: frozenset[str] = frozenset()  # empty: any (of the customer order, also for party orders)
    customers: frozenset[str] = frozenset()  # empty: any
    applies_to: str = CUSTOMER_ORDER
    parties: frozenset[str] = frozenset()  # party names, for party order rules; empty: any


@dataclass(frozen=True)
class Policy:
    at_risk_slack: float = 0.2
    rules: tuple[EscalationRule, ...] = ()
    levels: dict[int, str] = field(default_factory=dict)  # escalation level -> who it reaches

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
    levels = data.get("levels") or {}
    if not isinstance(levels, dict) or not all(isinstance(k, int) and 0 < k <= MAX_ESCALATION_LEVEL for k in levels):
        raise InvalidInput(f"{source}: levels maps escalation levels 1..{MAX_ESCALATION_LEVEL} to names.", field="levels")
    rules, names = [], set()
    for n, raw in enumerate(data.get("rules") or []):
        where = f"{source} rule {n + 1}"
        if not isinstance(raw, dict):
            raise InvalidInput(f"{where} must be a mapping.", field="rules")
        if unknown := set(raw) - {"name", "level", "after", "escalate_to", "notify", "priorities", "customers", "applies_to", "parties"}:
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
        rules.append(
            EscalationRule(
                name=name,
                level=level,
                escalate_to=to,
                after=parse_duration(raw.get("after", 0), where),
                notify=tuple(sorted(_names(raw.get("notify"), f"{where} notify"))),
                priorities=_names(raw.get("priorities"), f"{where} priorities", PRIORITIES),
                customers=_names(raw.get("customers"), f"{where} customers"),
                applies_to=applies_to,
                parties=_names(raw.get("parties"), f"{where} parties"),
            )
        )
    return Policy(at_risk_slack=float(slack), rules=tuple(rules), levels={int(k): str(v) for k, v in levels.items()})


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
    """Open customer and party orders that a rule escalates above their current level: one indexed query per rule.

    Only orders already in jeopardy are read, so the work grows with those, not with all open orders.
    """
    o, po = CustomerOrder, PartyOrder
    best: dict[tuple[int, int | None], Escalate] = {}
    for rule in policy.rules:
        levels = [lvl for lvl in LEVELS if RANK[lvl] >= RANK[rule.level]]
        query: Select[Any, Any, Any]  # (order id, escalation level, party order id or null)
        if rule.applies_to == PARTY_ORDER:
            query = (
                select(col(po.order_id), col(po.escalation_level), col(po.id))
                .join(o, col(o.id) == col(po.order_id))
                .where(
                    col(po.jeopardy_level).in_(levels),
                    col(po.state).in_(ACTIVE_PARTY_ORDER),
                    col(po.escalation_level) < rule.escalate_to,
                    col(po.jeopardy_since) <= now - rule.after,
                )
            )
            if rule.parties:
                query = query.join(Party, col(Party.id) == col(po.party_id)).where(col(Party.name).in_(sorted(rule.parties)))
        else:
            query = select(col(o.id), col(o.escalation_level), null()).where(
                col(o.jeopardy_level).in_(levels),
                col(o.state).in_(OPEN_ORDER),
                col(o.escalation_level) < rule.escalate_to,
                col(o.jeopardy_since) <= now - rule.after,
            )
        if rule.priorities:
            query = query.where(col(o.priority).in_(sorted(rule.priorities)))
        if rule.customers:
            query = query.where(col(o.customer_id).in_(sorted(rule.customers)))
        if order_ids is not None:
            query = query.where(in_ids(col(o.id), order_ids, session.bind.dialect.name if session.bind else "sqlite"))
        for order_id, current, party_order_id in await session.execute(query):
            found = best.get((order_id, party_order_id))
            if found is None or rule.escalate_to > found.to_level:
                best[(order_id, party_order_id)] = Escalate(order_id, current, rule.escalate_to, rule, party_order_id)
    return [best[k] for k in sorted(best, key=lambda k: (k[0], k[1] or 0))]
