"""The direct lane (``app/graphql/direct_lane.py``) answers the usual progress report without strawberry's
execution and leaves everything else to strawberry, so it must never show. The same random HTTP
requests to ``/graphql`` (selection sets, variables or literals, good and bad values, whose token,
retried keys, clock moves and sweeps) go to two apps on twin databases built identically, one with
the lane on and one with it off (``Settings.direct_lane``): every status and body, every row of
every table and every event, as stored and as published, must be the same, and the lane must have
answered some of the requests itself."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.jeopardy.policy import Policy
from app.main import create_app
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import iso
from tests.jeopardy_support import monitor
from tests.party import (
    party_orders_in_each_stage,
)
from tests.twins import collect_published, copy_schema, every_row, row_differences, twin_databases

pytestmark = pytest.mark.parametrize("db", ["postgres"], indirect=True)  # the lane's quick write runs on PostgreSQL only
SCRIPTS = int(os.environ.get("ORDERTRACK_LANE_SCRIPTS", "20"))  # random step lists per run (a longer hunt: more)

LEAVES = """id partyId state stateReason neededBy partyReference committedDeliveryDate expectedDeliveryDate percentComplete
  note acknowledgedAt deliveredAt lastReportAt nextReportDue jeopardyLevel jeopardyReason escalationLevel version revision
  createdAt updatedAt"""
FRAGMENT = "fragment Seen on PartyOrder { id version note percentComplete }"
# The selection set on the party order: the lane answers the first few, strawberry the rest.
SELECTIONS = {
    "leaves": LEAVES,
    "few": "id version percentComplete",
    "typename": "__typename id state",
    "aliases": "pct: percentComplete v: version t: __typename id",
    "repeated": "id id version version",
    "nested": "id lines { productRef }",
    "resolver field": "id milestones { name reachedAt }",
    "fragment": "...Seen",
    "inline fragment": "... on PartyOrder { id version }",
    "directive": "id version @include(if: true) note @skip(if: false)",
    "unknown field": "id nope",
    "none": "",
}
NOTES = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "cabinet's in", 'a "quoted" \\ note', "trench\ndug", "bell\x07", "n" * 2001]),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),  # utf-8 leaves surrogates (Cs) out
)


@dataclass(frozen=True)
class Step:
    """The clock moves (and a sweep may run), then one POST goes to both apps."""

    hours: int
    sweep: bool
    order: int  # index into the set-up's party orders (the last is an id nobody has)
    id_form: str  # "id", "number" (a JSON number), "malformed" or "missing"
    actor: str  # the token: "own" party's, "other" party's, "staff", "none" or "bogus"
    key: str | None  # None: a fresh key; else one of a few, so retries and mismatches happen
    percent: Any  # None: not sent
    note: str | None  # None: not sent
    days_to_expected: int | None
    milestone: bool
    selection: str
    inline: bool  # arguments as literals in the document instead of variables
    alias: bool
    named: bool  # the operation has a name
    sent_name: str  # the request's operationName: "none", "same" or "other"
    extra: str | None  # "unused variable": one more in the request; "null variables": ``"variables": null``


def _step(**changes: Any) -> Step:
    """The usual report, as the lane answers it, with ``changes``."""
    usual = Step(
        hours=1,
        sweep=False,
        order=0,
        id_form="id",
        actor="own",
        key=None,
        percent=40,
        note="cabinet's in",
        days_to_expected=None,
        milestone=False,
        selection="leaves",
        inline=False,
        alias=False,
        named=True,
        sent_name="same",
        extra=None,
    )
    return Step(**{**usual.__dict__, **changes})


# How a step may differ from the usual report: a few such changes per step, so that many steps are
# still ones the lane answers and the others are near misses.
CHANGES: dict[str, st.SearchStrategy[Any]] = {
    "hours": st.sampled_from([0, 2, 30, 50, 24 * 25]),
    "sweep": st.just(True),
    "order": st.integers(1, 4),
    "id_form": st.sampled_from(["number", "malformed", "missing"]),
    "actor": st.sampled_from(["other", "staff", "none", "bogus"]),
    "key": st.sampled_from(["a", "a", "b", " ", "k" * 129]),
    "percent": st.one_of(st.none(), st.integers(-1, 101), st.sampled_from(["ten", 2.5, True])),
    "note": NOTES,
    "days_to_expected": st.integers(-1, 40),
    "milestone": st.just(True),
    "selection": st.sampled_from(list(SELECTIONS)),
    "inline": st.just(True),
    "alias": st.just(True),
    "named": st.just(False),
    "sent_name": st.sampled_from(["none", "other"]),
    "extra": st.sampled_from(["unused variable", "null variables"]),
}


@st.composite
def steps(draw: st.DrawFn) -> Step:
    changed = draw(st.sets(st.sampled_from(list(CHANGES)), max_size=3))
    return _step(**{name: draw(CHANGES[name]) for name in sorted(changed)})


# The usual report after a sweep, its retry, the same key with another payload and on another order;
# then the same through literals, aliases and __typename; then what the lane leaves to strawberry.
KNOWN = [
    [_step(sweep=True, key="a"), _step(hours=0, key="a"), _step(key="a", percent=41), _step(key="a", order=1)],
    [
        _step(sweep=True, inline=True, selection="aliases", alias=True),
        _step(inline=True, selection="typename", named=False, sent_name="none"),
    ],
    [
        _step(sweep=True, actor="staff"),
        _step(actor="other"),
        _step(actor="none"),
        _step(order=4),
        _step(id_form="malformed"),
        _step(percent=101),
        _step(percent="ten"),
        _step(note="n" * 2001),
        _step(key="k" * 129),
        _step(selection="nested"),
        _step(sent_name="other"),
        _step(),
    ],
]


def scripts(count: int) -> list[list[Step]]:
    """``count`` step lists hypothesis draws (collected first: the test itself runs in an event loop)."""
    found: list[list[Step]] = []

    @hypothesis_settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(steps(), min_size=1, max_size=10))
    def collect(steps: list[Step]) -> None:
        found.append(steps)

    collect()
    return found


@dataclass
class Template:
    schema: str
    party_orders: list[tuple[int, int]]  # (party order id, its party id), the last unknown
    tokens: dict[str, str]  # "staff" or a party id: its token
    milestone: int
    now: datetime


async def _template(staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock, escalation_policy: Policy) -> Template:
    """Two parties; one's party orders in progress, acknowledged only and not acknowledged; the other's in
    progress; swept once, so that the usual report may take the quick write."""
    found, apis, milestone = await party_orders_in_each_stage(staff, http, db, clock)
    await monitor(db, clock, escalation_policy).sweep()
    tokens = {party: str(api.token) for party, api in apis.items()}
    tokens["staff"] = await issue_token(db, clock, Role.STAFF, "sue.staff")
    assert db.schema is not None
    return Template(db.schema, [*found, (999999, found[0][1])], tokens, milestone, clock.now())


def _literal(value: Any) -> str:
    """``value`` written in a GraphQL document."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value)  # numbers, booleans, null


def _request(step: Step, template: Template, now: datetime, fresh: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON body and headers of ``step``'s POST."""
    po_id, party_id = template.party_orders[step.order]
    other = next(p for _, p in template.party_orders if p != party_id)
    token = {
        "own": template.tokens[str(party_id)],
        "other": template.tokens[str(other)],
        "staff": template.tokens["staff"],
        "none": None,
        "bogus": "not-a-token",
    }[step.actor]
    data: dict[str, Any] = {}
    if step.percent is not None:
        data["percentComplete"] = step.percent
    if step.note is not None:
        data["note"] = step.note
    if step.days_to_expected is not None:
        data["expectedDeliveryDate"] = iso(now + timedelta(days=step.days_to_expected))
    if step.milestone:
        data["milestoneId"] = str(template.milestone)
    arguments: dict[str, Any] = {"key": step.key if step.key is not None else fresh, "input": data}
    if step.id_form != "missing":
        arguments["id"] = {"id": str(po_id), "number": po_id, "malformed": "x"}[step.id_form]
    names = {"id": ("id", "ID!"), "key": ("idempotencyKey", "String!"), "input": ("input", "ProgressReportInput!")}
    if step.inline:
        given_arguments = ", ".join(f"{names[k][0]}: {_literal(v)}" for k, v in arguments.items())
        variables: dict[str, Any] = {}
        definitions = ""
    else:
        given_arguments = ", ".join(f"{names[k][0]}: ${k}" for k in names if k != "id" or step.id_form != "missing")
        variables = arguments
        definitions = "(" + ", ".join(f"${k}: {kind}" for k, (_, kind) in names.items()) + ")"
    selection = SELECTIONS[step.selection]
    query = (
        f"mutation {'Report' if step.named else ''}{definitions} {{ "
        f"{'r: ' if step.alias else ''}reportPartyOrderProgress({given_arguments}) {f'{{ {selection} }}' if selection else ''} }}"
    )
    if step.selection == "fragment":
        query += f" {FRAGMENT}"
    if step.extra == "unused variable":
        variables = {**variables, "unused": 1}
    body: dict[str, Any] = {"query": query, "variables": None if step.extra == "null variables" else variables}
    if step.sent_name != "none":
        body["operationName"] = "Report" if step.sent_name == "same" else "Other"
    headers = {"x-request-id": f"step-{fresh}"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return body, headers


def _errors_without_ids(body: Any) -> Any:
    """The answer with each INTERNAL error's random ``errorId`` blanked (its code and message stay compared)."""
    if isinstance(body, dict):
        for error in body.get("errors") or ():
            if isinstance(error, dict) and "errorId" in (error.get("extensions") or {}):
                error["extensions"]["errorId"] = "…"
    return body


async def _answer(client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    response = await client.post("/graphql", json=body, headers=headers)
    try:
        return response.status_code, _errors_without_ids(response.json())
    except ValueError:
        return response.status_code, response.text


@contextlib.asynccontextmanager
async def _served(settings: Settings, db: Database, clock: FrozenClock, policy: Policy) -> AsyncIterator[httpx.AsyncClient]:
    """A new app on ``db`` (fresh caches, so each script starts as the template did) and a client of it."""
    application = create_app(settings, db=db, clock=clock, policy=policy, components=[])
    graphql_app: Any = next(r for r in application.routes if getattr(r, "path", "") == "/graphql")
    graphql_app = graphql_app.app
    assert bool(graphql_app.direct.quick) is settings.direct_lane  # the switch the twins differ by
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://ordertrack.test") as client:
            yield client


async def test_the_direct_lane_and_strawberry_give_the_same_answers_rows_and_events_for_any_requests(
    staff: Api,
    http: httpx.AsyncClient,
    db: Database,
    clock: FrozenClock,
    settings: Settings,
    escalation_policy: Policy,
    lane: list[bool],
) -> None:
    template = await _template(staff, http, db, clock, escalation_policy)
    published: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    fresh = itertools.count(1)
    lane.clear()
    async with twin_databases(db, "lane", "strawberry") as (lane_db, plain_db):
        twins = {"on": lane_db, "off": plain_db}
        for side, each in twins.items():
            each.publishers.append(collect_published(published[side]))
        for steps in [*KNOWN, *scripts(SCRIPTS)]:
            clocks = {side: FrozenClock(template.now) for side in twins}
            for side, each in twins.items():
                await copy_schema(template.schema, each)
                published[side].clear()
            async with contextlib.AsyncExitStack() as stack:
                clients = {
                    side: await stack.enter_async_context(
                        _served(settings.model_copy(update={"direct_lane": side == "on"}), each, clocks[side], escalation_policy)
                    )
                    for side, each in twins.items()
                }
                now = template.now
                for n, step in enumerate(steps):
                    now += timedelta(hours=step.hours)
                    for side in twins:
                        clocks[side].set(now)
                        if step.sweep:
                            await monitor(twins[side], clocks[side], escalation_policy).sweep()
                    body, headers = _request(step, template, now, f"fresh-{next(fresh)}")
                    got = await _answer(clients["on"], body, headers)
                    expected = await _answer(clients["off"], body, headers)
                    assert got == expected, (steps[: n + 1], body, got, expected)
            differ = row_differences(await every_row(lane_db), await every_row(plain_db))
            assert not differ, (steps, differ)
            assert published["on"] == published["off"], steps
    assert sum(lane) > 0, "the lane answered some requests itself"
