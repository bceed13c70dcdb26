"""The front-end contract: its operations run against today's schema, breaking changes are caught,
the persisted-operation manifest and the generated TypeScript types are up to date."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from graphql import build_ast_schema, find_breaking_changes, parse, validate

from app.graphql.contract import CONTRACT_DIR, MANIFEST_NAME, load_document, load_operations, manifest
from app.graphql.contract_changes import contract_changes

ROOT = CONTRACT_DIR.parent
SCHEMA = (ROOT / "schema.graphql").read_text()
PUBLISHED = (CONTRACT_DIR / "published-schema.graphql").read_text()


def test_every_contract_operation_validates_against_the_schema() -> None:
    schema = build_ast_schema(parse(SCHEMA))
    ops = load_operations()
    assert {"Me", "OrderList", "JeopardyCounts", "OrderTree", "OrderTimeline"} <= {o.name for o in ops}
    for op in ops:
        errors = validate(schema, parse(op.body))
        assert errors == [], f"{op.name}: {[e.message for e in errors]}"


def test_the_persisted_operation_manifest_matches_the_operations() -> None:
    committed = (CONTRACT_DIR / MANIFEST_NAME).read_text()
    assert committed == manifest(load_operations()), "run `ordertrack contract` to rewrite the manifest"


def test_the_current_schema_breaks_no_contract_operation() -> None:
    breaking, dangerous = contract_changes(PUBLISHED, SCHEMA, load_document())
    assert breaking == [], "\n".join(c.description for c in breaking)
    for change in dangerous:  # e.g. a new enum value: clients should handle it, it breaks nothing
        print("dangerous:", change.description)


def _without(sdl: str, text: str) -> str:
    assert text in sdl
    return sdl.replace(text, "", 1)


def test_removing_a_field_the_contract_selects_is_a_breaking_change() -> None:
    changed = _without(PUBLISHED, "  expectedCompletion: DateTime\n  jeopardyLevel: JeopardyLevel!\n")
    changed = changed.replace(
        "  jeopardyReason: String\n  jeopardySince",
        "  expectedCompletion: DateTime\n  jeopardyReason: String\n  jeopardySince",
        1,
    )
    breaking, _ = contract_changes(PUBLISHED, changed, load_document())
    assert [c.description for c in breaking] == ["Field CustomerOrder.jeopardyLevel was removed."]


def test_removing_an_enum_value_or_requiring_a_new_filter_field_is_breaking() -> None:
    changed = _without(PUBLISHED, "  LATE\n}").replace(
        "enum JeopardyLevel {\n  NONE\n  AT_RISK\n  JEOPARDY\n", "enum JeopardyLevel {\n  NONE\n  AT_RISK\n  JEOPARDY\n}", 1
    )
    changed = changed.replace("  text: String = null\n}", "  text: String = null\n  region: String!\n}", 1)
    breaking, _ = contract_changes(PUBLISHED, changed, load_document())
    assert sorted(c.description for c in breaking) == [
        "A required field CustomerOrderFilter.region was added.",
        "Enum value JeopardyLevel.LATE was removed.",
    ]


def test_changing_what_the_contract_does_not_use_breaks_nothing() -> None:
    changed = _without(PUBLISHED, '  """Add a note to an order."""\n  addOrderNote(orderId: ID!, text: String!): OrderNote!\n')
    changed = changed.replace(
        "  assignee: String\n  note: String\n", "  assignee: String\n  note: Int\n", 1
    )  # Activity.note: not selected
    overall = find_breaking_changes(build_ast_schema(parse(PUBLISHED)), build_ast_schema(parse(changed)))
    assert sorted(c.description for c in overall) == [
        "Field Activity.note changed type from String to Int.",
        "Field Mutation.addOrderNote was removed.",
    ]
    assert contract_changes(PUBLISHED, changed, load_document())[0] == []


# --- Node: GraphQL Code Generator and the vendored browser builds (graphql-ws, vis-timeline) -------------------------------


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the contract with its npm packages installed by ``npm ci`` from package-lock.json."""
    if not (shutil.which("node") and shutil.which("npm")):
        if os.environ.get("CI"):
            pytest.fail("node and npm are needed on CI for the contract's code generation check.")
        pytest.skip("node/npm are not installed (this skip is refused when CI is set).")
    work = tmp_path_factory.mktemp("contract")
    folder = work / "frontend-contract"
    folder.mkdir()
    for name in ("package.json", "package-lock.json", "codegen.yml"):
        shutil.copy(CONTRACT_DIR / name, folder / name)
    shutil.copytree(CONTRACT_DIR / "operations", folder / "operations")
    shutil.copy(ROOT / "schema.graphql", work / "schema.graphql")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return folder


def test_the_generated_typescript_types_are_up_to_date(fresh_install: Path) -> None:
    out = fresh_install.parent / "out" / "graphql.ts"
    env = {**os.environ, "CODEGEN_OUT": str(out)}
    run = subprocess.run(
        ["npx", "--no-install", "graphql-codegen", "--config", "codegen.yml"],
        cwd=fresh_install,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    committed = (CONTRACT_DIR / "generated" / "graphql.ts").read_text()
    assert out.read_text() == committed, "run `npm run codegen` in frontend-contract and commit generated/graphql.ts"
    assert "export type OrderListQuery = " in committed and "export type OrderTreeQueryVariables = " in committed


def test_the_dashboard_ships_the_graphql_ws_browser_build_from_npm(fresh_install: Path) -> None:
    shipped = (ROOT / "app" / "static" / "vendor" / "graphql-ws.min.js").read_bytes()
    assert shipped == (fresh_install / "node_modules" / "graphql-ws" / "umd" / "graphql-ws.min.js").read_bytes()


def test_the_dashboard_ships_the_vis_timeline_standalone_build_from_npm(fresh_install: Path) -> None:
    shipped = (ROOT / "app" / "static" / "vendor" / "vis-timeline-graph2d.min.js").read_bytes()
    built = fresh_install / "node_modules" / "vis-timeline" / "standalone" / "umd" / "vis-timeline-graph2d.min.js"
    assert shipped == built.read_bytes()
    version = json.loads((fresh_install / "node_modules" / "vis-timeline" / "package.json").read_text())["version"]
    assert f"vis-timeline {version}" in (ROOT / "app" / "static" / "vendor" / "vis-timeline.LICENSE.md").read_text()
