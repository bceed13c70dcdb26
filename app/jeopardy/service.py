"""Changing jeopardy and escalation levels: every change goes through one function that records it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app import validation as v
from app.auth import SYSTEM
from app.columns import table_of
from app.db import UnitOfWork, show_stored, update_by_id
from app.errors import InvalidInput, InvalidTransition
from app.jeopardy import rulebook, rules
from app.jeopardy.models import Escalation
from app.jeopardy.policy import ACTIVE_PARTY_ORDER, EscalationRule, Policy, escalations_due
from app.orders.core import check_version, get_order_for_update
from app.orders.models import CustomerOrder
from app.party_orders.core import load_party_order
from app.party_orders.models import PartyOrder

MAX_NOTIFY = 20
# Event types; both start with "escalat" so the alert streams (app/realtime/streams.py) carry them.
ESCALATED = "escalated"
LOWERED = "escalationLowered"


@dataclass
class SweepOutcome:
    level_changes: int = 0
    orders_examined: int = 0  # orders whose rows a sweep evaluated: changed since the last one, or due
    escalations: int = 0
    deescalations: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    batches: int = 0  # a sweep's transactions that examined orders or moved its mark
    stopped: bool = False  # a sweep that lost its leadership between batches
    locks_held: list[float] = field(default_factory=list)  # seconds each batch's transaction held its orders' locks

    def add(self, part: SweepOutcome, *, keep_events: bool) -> None:
        self.level_changes += part.level_changes
        self.escalations += part.escalations
        self.deescalations += part.deescalations
        if keep_events:
            self.events += part.events


async def change_levels(uow: UnitOfWork, rule: rules.Rule, found: Sequence[rules.LevelChange]) -> None:
    """Store rows' new jeopardy levels and reasons (one statement, unless the sweep's own statement did)
    and record a ``jeopardyChanged`` each."""
    table: Any = table_of(rule.model)
    tracks_since = "jeopardy_since" in table.c
    rows = []
    for change in found:
        since = change.columns.get("jeopardy_since")
        if change.level != change.before:
            since = uow.now if change.level != "none" else None
        row = {"id": change.id, "jeopardy_level": change.level, "jeopardy_reason": change.reason}
        rows.append(row | {"jeopardy_since": since} if tracks_since else row)
        uow.record(
            "jeopardyChanged",
            entity=rule.entity,
            entity_id=change.id,
            **rule.event_keys(change.columns),
            before={"jeopardy_level": change.before, "jeopardy_reason": change.before_reason},
            after={"jeopardy_level": change.level, "jeopardy_reason": change.reason},
        )
    unstored = [row for row, change in zip(rows, found) if not change.stored]
    if unstored:
        await update_by_id(uow.session, table, unstored, uow.dialect)  # not through the ORM: a sweep may change thousands
    show_stored(uow.session, rule.model, rows)  # the mutation's answer shows the new level


def change_escalation(
    uow: UnitOfWork,
    target: CustomerOrder | PartyOrder,
    to_level: int,
    *,
    reason: str | None,
    notify: Sequence[str] = (),
    rule: EscalationRule | None = None,
    manual: bool = False,
) -> Escalation:
    """The one place an escalation level changes (of a customer order or a party order): history and event."""
    assert target.id is not None
    party_order = isinstance(target, PartyOrder)
    from_level = target.escalation_level
    target.escalation_level = to_level
    entry = Escalation(
        order_id=target.order_id if isinstance(target, PartyOrder) else target.id,
        party_order_id=target.id if party_order else None,
        from_level=from_level,
        to_level=to_level,
        jeopardy_level=target.jeopardy_level,
        rule=rule.name if rule else None,
        reason=reason,
        notify=list(notify),
        actor=uow.actor.name if manual else SYSTEM.name,  # the policy acts, also inside a staff mutation
        manual=manual,
        at=uow.now,
    )
    uow.session.add(entry)
    uow.record(
        ESCALATED if to_level > from_level else LOWERED,
        entity="partyOrder" if party_order else "order",
        entity_id=target.id,
        order_id=entry.order_id,
        # No party_id: escalation is the enterprise's own business, so it stays out of the partner's stream.
        party_order_id=entry.party_order_id,
        before={"escalation_level": from_level},
        after={"escalation_level": to_level},
        data={
            "jeopardy_level": target.jeopardy_level,
            "rule": entry.rule,
            "reason": reason,
            "notify": list(notify),
            "manual": manual,
        },
    )
    return entry


async def _apply_levels(
    uow: UnitOfWork,
    ctx: rules.Context,
    order_ids: list[int],
    out: SweepOutcome,
    *,
    store_checks: bool = False,
    entities: frozenset[str] | None = None,
) -> dict[tuple[str, int], str]:
    """Record the level changes of the rows of these (locked) orders (and, sweeping, their next check
    times); returns the new levels by (entity, id)."""
    session = uow.session
    levels: dict[tuple[str, int], str] = {}
    wanted = [rule for rule in rulebook.RULES if entities is None or rule.entity in entities]
    # A sweep on PostgreSQL evaluates and stores every rule in one statement; otherwise rule by rule,
    # activities and party orders first (the order rule may read their rows).
    at_once = (
        await rules.changes_of(session, wanted, ctx, order_ids)
        if store_checks and ctx.dialect == "postgresql" and order_ids
        else None
    )
    for rule in wanted:
        if at_once is not None:
            found = at_once[rule.entity]
        else:
            found = await rules.changes(session, rule, ctx, order_ids, store_checks=store_checks) if order_ids else []
        if not found:
            continue
        await change_levels(uow, rule, found)
        out.level_changes += len(found)
        levels.update(((rule.entity, change.id), change.level) for change in found)
        for change in found:
            if change.level == "none" and (change.columns.get("escalation_level") or 0) > 0:
                row = await session.get(rule.model, change.id)
                change_escalation(uow, row, 0, reason="recovered: no longer in jeopardy")  # type: ignore[arg-type]  # rule.model is CustomerOrder or PartyOrder, and the row exists (its level just changed)
                out.deescalations += 1
        await session.flush()
    return levels


async def _apply_escalations(uow: UnitOfWork, policy: Policy, order_ids: list[int], out: SweepOutcome) -> None:
    due = await escalations_due(uow.session, policy, uow.now, order_ids) if order_ids else []
    if not due:
        return
    wanted_orders = sorted({d.order_id for d in due if d.party_order_id is None})
    wanted_party_orders = sorted({d.party_order_id for d in due if d.party_order_id is not None})
    targets: dict[tuple[str, int], CustomerOrder | PartyOrder] = {}
    if wanted_orders:
        for o in (await uow.session.execute(select(CustomerOrder).where(col(CustomerOrder.id).in_(wanted_orders)))).scalars():
            targets[("order", o.id or 0)] = o  # read rows: the id is set
    if wanted_party_orders:
        for po in (await uow.session.execute(select(PartyOrder).where(col(PartyOrder.id).in_(wanted_party_orders)))).scalars():
            targets[("partyOrder", po.id or 0)] = po
    for item in due:
        key = ("partyOrder", item.party_order_id) if item.party_order_id is not None else ("order", item.order_id)
        target = targets.get(key)
        if target is None or target.escalation_level >= item.to_level:  # changed meanwhile
            continue
        change_escalation(
            uow, target, item.to_level, reason=f"policy rule {item.rule.name}", notify=item.rule.notify, rule=item.rule
        )
        out.escalations += 1
    await uow.session.flush()


async def settle_levels(
    uow: UnitOfWork,
    order_ids: list[int],
    out: SweepOutcome,
    *,
    policy: Policy,
    store_checks: bool = False,
    entities: frozenset[str] | None = None,
    watched: dict[tuple[str, int], tuple[int, str]] | None = None,
) -> None:
    """Bring the jeopardy levels and escalations of these (locked) orders' rows up to date.

    ``entities`` names the rules worth running (rows of the other kinds are known to be absent);
    ``store_checks`` (a sweep) stores every row's next check time as well. ``watched``: for every
    customer order ("order", id) and party order ("partyOrder", id) of these orders, its customer
    order's id and its stored level. The policy escalates only orders in jeopardy, so it is asked
    about those of them that are once the levels are stored (in a sweep's batch, few), and not at
    all when none is.
    """
    ctx = rules.Context(
        now=uow.now, dialect=uow.dialect, at_risk_slack=policy.at_risk_slack, at_risk_probability=policy.at_risk_probability
    )
    changed = await _apply_levels(uow, ctx, order_ids, out, store_checks=store_checks, entities=entities)
    if watched is not None:
        order_ids = sorted({oid for key, (oid, level) in watched.items() if changed.get(key, level) != "none"})
        if not order_ids:
            return
    await _apply_escalations(uow, policy, order_ids, out)


async def escalate_order(
    uow: UnitOfWork,
    order_id: int,
    level: int,
    reason: str,
    notify: Sequence[str] = (),
    expected_version: int | None = None,
    *,
    policy: Policy,
) -> CustomerOrder:
    """Staff raise (or lower) an order's escalation level by hand (within ``policy``'s levels)."""
    order = await get_order_for_update(uow, order_id)
    check_version(order, expected_version)
    if order.state not in rules.OPEN_ORDER:
        raise InvalidTransition(
            f"Customer order {order_id} is {order.state}; only open orders are escalated.", current=order.state
        )
    why, targets = _checked_escalation(policy, level, order.escalation_level, f"Customer order {order_id}", reason, notify)
    change_escalation(uow, order, level, reason=why, notify=targets, manual=True)
    return order


def _checked_escalation(
    policy: Policy, level: int, current: int, what: str, reason: str, notify: Sequence[str]
) -> tuple[str, list[str]]:
    """A manual escalation's level, reason and notification targets, checked; returns the cleaned reason and targets."""
    if not 0 <= level <= policy.max_level:
        raise InvalidInput(f"The escalation level must be from 0 to {policy.max_level}.", field="level")
    if level == current:
        raise InvalidInput(f"{what} is already at escalation level {level}.", field="level")
    why = v.required_text(reason, "reason", max_len=1000)
    if len(notify) > MAX_NOTIFY:
        raise InvalidInput(f"At most {MAX_NOTIFY} notification targets.", field="notify")
    return why, [v.required_text(n, "notify", max_len=200) for n in notify]


async def escalate_party_order(
    uow: UnitOfWork,
    party_order_id: int,
    level: int,
    reason: str,
    notify: Sequence[str] = (),
    expected_version: int | None = None,
    *,
    policy: Policy,
) -> PartyOrder:
    """Staff raise (or lower) a party order's escalation level by hand (within ``policy``'s levels)."""
    _, party_order = await load_party_order(uow, party_order_id, expected_version=expected_version)
    if party_order.state not in ACTIVE_PARTY_ORDER:
        raise InvalidTransition(
            f"Party order {party_order_id} is {party_order.state}; only active party orders are escalated.",
            current=party_order.state,
        )
    why, targets = _checked_escalation(
        policy, level, party_order.escalation_level, f"Party order {party_order_id}", reason, notify
    )
    change_escalation(uow, party_order, level, reason=why, notify=targets, manual=True)
    return party_order
