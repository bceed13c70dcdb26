"""The usual progress report has a fast path (``app/party_orders/quick_report.py``, one SQL statement)
beside the full domain path (``partner.report_progress`` in a unit of work). Both must leave the same
database behind: the same random partner reports, sweeps and clock moves go to twin databases, one
through ``submit_progress`` (fast path first) and one through the full path only, and every answer,
every row of every table and every event, as stored and as published, must be the same."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from app.auth import Actor, Role
from app.clock import FrozenClock
from app.consistency import reconciler
from app.db import Database
from app.errors import DomainError
from app.jeopardy.policy import Policy
from app.party_orders import partner
from tests.api import Api
from tests.jeopardy_support import monitor
from tests.party import (
    party_orders_in_each_stage,
)
from tests.twins import collect_published, copy_schema, every_row, row_differences, twin_databases

pytestmark = pytest.mark.parametrize("db", ["postgres"], indirect=True)  # the fast path runs on PostgreSQL only

NOTES = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "cabinet's in", "$ev$ and $$ dollars", "trench\ndug", "bell\x07"]),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),  # utf-8 leaves surrogates (Cs) out
)


@dataclass(frozen=True)
class Step:
    """One thing that happens to both twins: the clock moves, then a report is sent (or a sweep runs)."""

    hours: int
    sweep: bool
    order: int  # index into the set-up's party orders (the last is an id nobody has)
    actor: str  # "own" party, "other" party or "staff"
    key: str | None  # None: a fresh key; else one of a few, so retries and mismatches happen
    percent: int | None
    note: str | None
    days_to_expected: int | None
    milestone: bool


STEPS = st.builds(
    Step,
    hours=st.sampled_from([0, 0, 1, 30, 50, 24 * 25]),
    sweep=st.booleans(),
    order=st.integers(0, 4),
    actor=st.sampled_from(["own", "own", "own", "other", "staff"]),
    key=st.one_of(st.none(), st.sampled_from(["a", "b", " "])),
    percent=st.one_of(st.none(), st.integers(-1, 101)),
    note=NOTES,
    days_to_expected=st.one_of(st.none(), st.none(), st.integers(-1, 40)),
    milestone=st.sampled_from([False, False, False, True]),
)


# Found by this test once, kept: weeks later, past the committed delivery date and with no sweep since.
# And the usual report after a sweep (the fast path), its retry, and the same key for another request.
KNOWN = [
    [Step(hours=600, sweep=False, order=0, actor="own", key=None, percent=10, note=None, days_to_expected=None, milestone=False)],
    [
        Step(
            hours=1,
            sweep=True,
            order=0,
            actor="own",
            key="a",
            percent=40,
            note="cabinet's in",
            days_to_expected=None,
            milestone=False,
        ),
        Step(
            hours=0,
            sweep=False,
            order=0,
            actor="own",
            key="a",
            percent=40,
            note="cabinet's in",
            days_to_expected=None,
            milestone=False,
        ),
        Step(hours=1, sweep=False, order=3, actor="own", key="a", percent=41, note=None, days_to_expected=None, milestone=False),
    ],
]


def scripts(count: int) -> list[list[Step]]:
    """``count`` step lists hypothesis draws (collected first: the test itself runs in an event loop)."""
    found: list[list[Step]] = []

    @hypothesis_settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(STEPS, min_size=1, max_size=8))
    def collect(steps: list[Step]) -> None:
        found.append(steps)

    collect()
    return found


@dataclass
class Template:
    schema: str
    party_orders: list[tuple[int, int]]  # (party order id, its party id), the last unknown
    milestone: int
    now: datetime


async def _template(staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock) -> Template:
    """Two parties; one's party orders in progress, acknowledged only and not acknowledged; the other's in progress."""
    found, _, milestone = await party_orders_in_each_stage(staff, http, db, clock)
    assert db.schema is not None
    return Template(db.schema, [*found, (999999, found[0][1])], milestone, clock.now())


@pytest.fixture
async def twins(db: Database, escalation_policy: Policy) -> AsyncIterator[tuple[Database, Database]]:
    """Two more schemas with every table: one for each path, reconciled under the test's policy."""
    async with twin_databases(db, "fast", "full") as made:
        for each in made:
            each.reconcile = reconciler(escalation_policy)
        yield made[0], made[1]


def _differences(a: tuple[str, Any], b: tuple[str, Any]) -> Any:
    """What differs between two answers, field by field when both are party orders."""
    if a[0] != b[0] or a[0] != "ok":
        return a, b
    return {k: (a[1][k], b[1].get(k)) for k in a[1] if a[1][k] != b[1].get(k)}


def _answer(result: Any) -> dict[str, Any]:
    return {name: getattr(result, name) for name in type(result).model_fields}


async def _send(db: Database, step: Step, template: Template, now: datetime, fast: bool, fresh: str) -> tuple[str, Any]:
    po_id, party_id = template.party_orders[step.order]
    other = next(p for _, p in template.party_orders if p != party_id)
    actor = {
        "own": Actor(name=f"partner-{party_id}", role=Role.PARTNER, party_id=party_id),
        "other": Actor(name=f"partner-{other}", role=Role.PARTNER, party_id=other),
        "staff": Actor(name="sam.staff", role=Role.STAFF),
    }[step.actor]
    report = partner.ProgressReport(
        percent_complete=step.percent,
        note=step.note,
        milestone_id=template.milestone if step.milestone else None,
        expected_delivery=now + timedelta(days=step.days_to_expected) if step.days_to_expected is not None else None,
    )
    key = step.key if step.key is not None else fresh
    try:
        if fast:
            return "ok", _answer(await partner.submit_progress(db, actor, now, po_id, key, report))
        async with db.write(actor, now) as uow:  # answered after the commit, as the mutation's resolver is
            result = await partner.report_progress(uow, po_id, key, report)
        return "ok", _answer(result)
    except DomainError as exc:
        return "refused", (exc.code, str(exc))


async def test_the_fast_and_the_full_path_leave_the_same_rows_and_events_for_any_reports(
    staff: Api,
    http: httpx.AsyncClient,
    db: Database,
    clock: FrozenClock,
    twins: tuple[Database, Database],
    escalation_policy: Policy,
) -> None:
    template = await _template(staff, http, db, clock)
    fast_db, full_db = twins
    published: dict[int, list[dict[str, Any]]] = {id(fast_db): [], id(full_db): []}
    for each in twins:
        each.publishers.append(collect_published(published[id(each)]))
    fresh = itertools.count(1)
    fast_answers = 0
    for steps in [*KNOWN, *scripts(12)]:
        for each in twins:
            await copy_schema(template.schema, each)
            published[id(each)].clear()
        now, sweeper = template.now, FrozenClock(template.now)
        for n, step in enumerate(steps):
            now += timedelta(hours=step.hours)
            sweeper.set(now)
            if step.sweep:
                for each in twins:
                    await monitor(each, sweeper, escalation_policy).sweep()
            key = f"fresh-{next(fresh)}"
            before = fast_db.statements.count
            got = await _send(fast_db, step, template, now, True, key)
            fast_answers += got[0] == "ok" and fast_db.statements.count - before == 1  # the one statement alone answered
            expected = await _send(full_db, step, template, now, False, key)
            assert got == expected, (steps[: n + 1], _differences(got, expected))
        differ = row_differences(await every_row(fast_db), await every_row(full_db))
        assert not differ, (steps, differ)
        assert published[id(fast_db)] == published[id(full_db)], steps
    assert fast_answers > 0, "some reports took the fast path"
