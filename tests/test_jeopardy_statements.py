"""A rule's statement is built once per process and serves every sweep and write: the time is only its parameter."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

import app.models  # noqa: F401  registers every table the rules read
from app.jeopardy import rulebook, rules

EARLY = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
LATE = EARLY + timedelta(days=40, hours=5)
DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.asyncpg.dialect()}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("probability", [None, 0.6])
def test_two_times_build_the_same_statement_but_for_its_time(dialect: str, probability: float | None) -> None:
    for rule in rulebook.RULES:
        compiled = []
        for now in (EARLY, LATE):
            ctx = rules.Context(now=now, dialect=dialect, at_risk_slack=0.2, at_risk_probability=probability)
            ev = rule.build(ctx)
            compiled.append(select(ev.reason, ev.tracked, rules.next_check(ctx, ev)).compile(dialect=DIALECTS[dialect]))
        early, late = compiled
        assert str(early) == str(late), rule.entity
        assert {k: v for k, v in early.params.items() if k not in ("now", "now_epoch")} == {
            k: v for k, v in late.params.items() if k not in ("now", "now_epoch")
        }, f"{rule.entity}: a time other than the parameters is built into the statement"
        assert (early.params["now"], late.params["now"]) == (EARLY, LATE)
        assert (early.params["now_epoch"], late.params["now_epoch"]) == (EARLY.timestamp(), LATE.timestamp())


def test_a_rule_is_built_once_for_every_time_of_one_policy() -> None:
    early, late = (rules.Context(now=now, dialect="postgresql", at_risk_slack=0.2) for now in (EARLY, LATE))
    for rule in rulebook.RULES:
        assert rules.evaluation(rule, early.template()) is rules.evaluation(rule, late.template())
    other_policy = rules.Context(now=EARLY, dialect="postgresql", at_risk_slack=0.3)
    assert rules.evaluation(rulebook.RULES[0], other_policy.template()) is not rules.evaluation(
        rulebook.RULES[0], early.template()
    )
