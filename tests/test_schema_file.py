"""schema.graphql at the root is what the code exports (run `make schema` after changing the API)."""

from __future__ import annotations

from pathlib import Path

from app.graphql.schema import schema

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_equals_the_code() -> None:
    exported = schema.as_str() + "\n"
    on_disk = (ROOT / "schema.graphql").read_text()
    assert on_disk == exported, "schema.graphql is stale: run `make schema` and commit it"
