"""Every jeopardy rule, in evaluation order: activities and party orders first, as the order rule may read their rows."""

from __future__ import annotations

from app.jeopardy.party_rules import PARTY_ORDER_RULE
from app.jeopardy.rules import ACTIVITY_RULE, ORDER_RULE, Rule

RULES: tuple[Rule, ...] = (ACTIVITY_RULE, PARTY_ORDER_RULE, ORDER_RULE)
