"""Subscribers that asked the same thing share one execution per event; different asks do not."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

import strawberry
from strawberry.extensions import ParserCache

from app.auth import Actor, Role
from app.graphql.shared_events import SharedEventExecution

calls: list[int] = []


@dataclass
class Change:
    seq: int


@strawberry.type
class Pushed:
    seq: int

    @strawberry.field
    def label(self, prefix: str) -> str:
        calls.append(self.seq)
        return f"{prefix}{self.seq}"


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def changes(self, prefix: str) -> AsyncGenerator[Pushed, None]:
        for seq in (1001, 1002):
            yield Change(seq)  # type: ignore[misc]  # a plain object, as the app's resolvers yield rows: strawberry reads Pushed's fields by name


@dataclass
class Ctx:
    actor: Actor


schema = strawberry.Schema(
    Query, subscription=Subscription, execution_context_class=SharedEventExecution, extensions=[ParserCache]
)
QUERY = "subscription($p: String!) { changes(prefix: $p) { seq label(prefix: $p) } }"


async def collect(prefix: str, actor: Actor) -> list[object]:
    stream = await schema.subscribe(QUERY, variable_values={"p": prefix}, context_value=Ctx(actor))
    return [r.data async for r in stream]


async def test_the_same_subscription_resolves_each_event_once_for_all_its_subscribers() -> None:
    calls.clear()
    viewer = Actor(name="dash", role=Role.VIEWER)
    first = await collect("a-", viewer)
    second = await collect("a-", viewer)
    assert first == second == [{"changes": {"seq": 1001, "label": "a-1001"}}, {"changes": {"seq": 1002, "label": "a-1002"}}]
    assert calls == [1001, 1002]  # the second subscriber reused the first one's results


async def test_other_variables_or_another_principal_execute_on_their_own() -> None:
    calls.clear()
    viewer = Actor(name="dash", role=Role.VIEWER)
    await collect("b-", viewer)
    other = await collect("c-", viewer)
    assert other[0] == {"changes": {"seq": 1001, "label": "c-1001"}}
    await collect("b-", Actor(name="partner", role=Role.PARTNER, party_id=3))
    assert calls == [1001, 1002] * 3


async def test_events_of_another_database_are_not_mistaken_for_these() -> None:
    calls.clear()
    viewer = Actor(name="dash", role=Role.VIEWER)

    @dataclass
    class DbCtx:
        actor: Actor
        db: object

    for db in (object(), object()):  # e.g. two test databases in one process: both have a seq 1001
        stream = await schema.subscribe(QUERY, variable_values={"p": "d-"}, context_value=DbCtx(viewer, db))
        [r async for r in stream]
    assert calls == [1001, 1002] * 2
