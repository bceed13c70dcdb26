"""The executor's short path for plain fields answers exactly what graphql-core and strawberry answer."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info

from app.graphql.execution import FastLeafExecution, lean_resolvers


@strawberry.enum
class Colour(Enum):
    RED = "red"
    DARK_BLUE = "darkBlue"


class Row:
    """A plain row like the loaders hand out."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


@strawberry.type
class Part:
    id: strawberry.ID
    name: str
    count: int
    colour: Colour
    made_at: datetime
    note: str | None

    @strawberry.field
    def label(self, info: Info) -> str:
        return f"{self.name}#{self.id}@{info.field_name}"

    @strawberry.field
    def children(self) -> list[Part]:
        return getattr(self, "kids", [])

    @strawberry.field
    def shout(self, loud: bool = False) -> str:
        return self.name.upper() if loud else self.name


def rows() -> list[Any]:
    at = datetime(2027, 3, 1, 9, tzinfo=timezone.utc)
    child = Row(id=3, name="bolt", count=4, colour="darkBlue", made_at=at, note=None)
    return [
        Row(id=1, name="frame", count=1, colour="red", made_at=at, note="first", kids=[child]),
        Row(id=2, name=None, count=2, colour="red", made_at=at, note=None),  # null in a non-null field
        Row(id=4, name="axle", count="many", colour="red", made_at=at, note=None),  # a value Int refuses
        Row(id=5, name="wheel", count=3, colour="purple", made_at=at, note=None),  # not a Colour
    ]


@strawberry.type
class Query:
    @strawberry.field
    def parts(self) -> list[Part | None]:
        return rows()

    @strawberry.field
    def part(self) -> Part:
        return rows()[0]


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    plain = strawberry.Schema(query=Query, execution_context_class=StrawberryGraphQLCoreExecutionContext)
    fast = strawberry.Schema(query=Query, execution_context_class=FastLeafExecution)
    lean_resolvers(fast)
    return plain, fast


QUERIES = [
    "{ parts { id name count colour madeAt note label } }",
    "{ part { note madeAt a: name b: name id __typename label children { name count colour children { id } } } }",
    "{ part { ...F shout(loud: true) quiet: shout } } fragment F on Part { colour name @include(if: false) count @skip(if: false) }",
    "query($yes: Boolean!) { part { name @include(if: $yes) id count } }",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_the_short_path_answers_what_graphql_core_answers(query: str) -> None:
    plain, fast = schemas()
    expected = await plain.execute(query, variable_values={"yes": True})
    got = await fast.execute(query, variable_values={"yes": True})
    assert got.data == expected.data
    assert list(str(got.data)) == list(str(expected.data)), "the same keys in the same order"
    assert [(e.message, e.path) for e in got.errors or []] == [(e.message, e.path) for e in expected.errors or []]


async def test_bad_values_still_become_errors_at_their_paths() -> None:
    _, fast = schemas()
    result = await fast.execute("{ parts { name count colour } }")
    assert result.data == {"parts": [{"name": "frame", "count": 1, "colour": "RED"}, None, None, None]}
    assert sorted(tuple(e.path or ()) for e in result.errors or []) == [
        ("parts", 1, "name"),
        ("parts", 2, "count"),
        ("parts", 3, "colour"),
    ]
