"""Jeopardy monitor: levels by set-based rules, escalation by local policy, one leader at a time."""

from app.jeopardy.service import after_redate
from app.orders import schedule

# A mutation that re-dates an order re-evaluates it in the same transaction, not only on the next sweep.
if after_redate not in schedule.AFTER_REDATE:
    schedule.AFTER_REDATE.append(after_redate)

import app.jeopardy.party_rules  # noqa: F401  the party order rule registers itself
