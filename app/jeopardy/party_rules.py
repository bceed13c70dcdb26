"""The jeopardy rule for party orders: late for its customer order, slipping, overdue milestone, silent party."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, exists, func, null, or_, select

from app.columns import table_of
from app.jeopardy.rules import Context, Evaluation, Rule, levels_of
from app.party_orders import states
from app.party_orders.models import Party, PartyMilestone, PartyOrder

TRACKED = sorted(states.ACTIVE)


def party_order_rule(ctx: Context) -> Evaluation:
    t = table_of(PartyOrder)
    p = t.c
    m = table_of(PartyMilestone).c
    party = table_of(Party).c
    now = ctx.at(ctx.now)
    tracked = p.state.in_(TRACKED)
    interval = select(party.reporting_interval_hours).where(party.id == p.party_id).scalar_subquery()
    never_heard_yet = and_(p.next_report_due.is_(None), p.last_report_at.is_(None))
    never_heard = and_(never_heard_yet, ctx.epoch(p.created_at) + interval * 3600.0 <= ctx.now_epoch)
    milestone_overdue = exists().where(m.party_order_id == p.id, m.reached_at.is_(None), m.planned_date <= now)
    reason, levels = levels_of(
        [
            (p.needed_by <= now, "late", "The date its customer order needs it by has passed and it is not delivered."),
            (
                func.coalesce(p.expected_delivery, p.committed_delivery) > p.needed_by,
                "jeopardy",
                "Its expected delivery is after the date its customer order needs it by.",
            ),
            (milestone_overdue, "jeopardy", "A milestone is overdue."),
            (or_(p.next_report_due <= now, never_heard), "atRisk", "No progress report within the party's reporting interval."),
        ],
        tracked,
    )
    next_milestone = (
        select(func.min(ctx.epoch(m.planned_date)))
        .where(m.party_order_id == p.id, m.reached_at.is_(None), m.planned_date > now)
        .scalar_subquery()
    )
    thresholds = [
        ctx.epoch(p.needed_by),
        next_milestone,
        ctx.epoch(p.next_report_due),
        case((never_heard_yet, ctx.epoch(p.created_at) + interval * 3600.0), else_=null()),
    ]
    return Evaluation(row=t, reason=reason, levels=levels, tracked=tracked, order_id=p.order_id, thresholds=thresholds)


def _keys(po: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": po["order_id"], "party_order_id": po["id"], "party_id": po["party_id"]}


PARTY_ORDER_RULE = Rule("partyOrder", PartyOrder, party_order_rule, _keys)
