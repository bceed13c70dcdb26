"""Every root field states who may use it; every operation is run as every role (the matrix)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from strawberry.permission import PermissionExtension
from strawberry.schema.schema import SubscriptionResult
from strawberry.types import ExecutionResult

from app.auth import Role, actor_for_token
from app.clock import FrozenClock
from app.db import Database
from app.graphql.context import Context
from app.graphql.schema import build_schema, schema
from tests.api import Api
from tests.authz_matrix import EXEMPT, MISSING_ID, OPERATIONS, REFUSALS, ROLES, SUBSCRIPTIONS, World
from tests.conftest import issue_token
from tests.fingerprint import fingerprint
from tests.party import create_party


def root_fields() -> dict[str, object]:
    fields = {}
    for root in ("Query", "Mutation", "Subscription"):
        definition = schema.get_type_by_name(root)
        for field in getattr(definition, "fields", None) or []:
            fields[schema.config.name_converter.get_graphql_name(field)] = field
    return fields


def test_every_root_field_has_a_permission_class() -> None:
    missing = []
    for name, field in root_fields().items():
        declared = list(getattr(field, "permission_classes", None) or [])
        for extension in getattr(field, "extensions", None) or []:
            if isinstance(extension, PermissionExtension):
                declared += list(extension.permissions)
        if not declared:
            missing.append(name)
    assert not missing, f"root fields anyone may call: {missing}"


def test_every_root_field_is_in_the_authorization_matrix() -> None:
    missing = sorted(set(root_fields()) - set(OPERATIONS) - set(SUBSCRIPTIONS) - set(EXEMPT))
    assert not missing, f"add these to tests/authz_matrix.py: {missing}"
    stale = sorted((set(OPERATIONS) | set(SUBSCRIPTIONS)) - set(root_fields()))
    assert not stale, f"the matrix names fields the schema no longer has: {stale}"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """The matrix runs on SQLite only: who may do what is decided above the database (permission
    classes and the same SQLAlchemy scoping on both backends), and the PostgreSQL half doubled the
    suite's time without testing anything new. Domain tests run partner scoping on both backends."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/matrix.db")
    await database.create_all()
    yield database
    await database.dispose()


@pytest.fixture
async def world(http: httpx.AsyncClient, db: Database, clock: FrozenClock) -> tuple[World, dict[str, Api]]:
    staff = Api(http, await issue_token(db, clock, Role.STAFF, "matrix.staff"))
    party_a, party_b = (await create_party(staff, name="Party A"))["id"], (await create_party(staff, name="Party B"))["id"]
    apis = {
        "anonymous": Api(http, None),
        "viewer": Api(http, await issue_token(db, clock, Role.VIEWER, "matrix.viewer")),
        "staff": staff,
        "partner_a": Api(http, await issue_token(db, clock, Role.PARTNER, "matrix.partner.a", party_id=int(party_a))),
        "partner_b": Api(http, await issue_token(db, clock, Role.PARTNER, "matrix.partner.b", party_id=int(party_b))),
    }
    return World(staff=staff, partner_a=apis["partner_a"], party_a=party_a, party_b=party_b, now=clock.now()), apis


def ids_in(value: object) -> set[str]:
    """Every value of an "id" key anywhere in a response."""
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "id" and isinstance(v, str):
                found.add(v)
            found |= ids_in(v)
    elif isinstance(value, list):
        for v in value:
            found |= ids_in(v)
    return found


def _without_ids(message: str, ids: list[str]) -> str:
    for value in ids:
        message = re.sub(rf"\b{re.escape(value)}\b", "<id>", message)
    return message


@pytest.mark.parametrize("name", sorted(OPERATIONS))
async def test_each_operation_as_each_role(name: str, world: tuple[World, dict[str, Api]], db: Database) -> None:
    w, apis = world
    op = OPERATIONS[name]
    prepared = await op.prepare(w)
    secret = prepared.get("_secret")
    variables = {k: v for k, v in prepared.items() if not k.startswith("_")}
    for role in sorted(op.scoped):
        before = await fingerprint(db)
        body = await apis[role].send(op.document, variables)
        assert not body.get("errors"), f"{role} may run {name} (seeing only its own): {body}"
        assert secret not in ids_in(body["data"]), f"{role} saw partner A's {secret} through {name}: {body}"
        if op.id_variables:
            missing = await apis[role].send(op.document, {**variables, **dict.fromkeys(op.id_variables, MISSING_ID)})
            assert missing == body, f"{role} can tell partner A's object from a missing one through {name}"
        assert await fingerprint(db) == before
    refused = [r for r in ROLES if r not in op.allowed and r not in op.scoped]
    for role in refused:
        before = await fingerprint(db)
        body = await apis[role].send(op.document, variables)
        assert body.get("errors"), f"{role} may not run {name}, but got {body}"
        assert all(v is None for v in (body.get("data") or {}).values()), f"{role} got data from {name}: {body}"
        code = body["errors"][0]["extensions"]["code"]
        assert code in REFUSALS[role], f"{role} on {name}: {code}"
        assert await fingerprint(db) == before, f"{role} changed something with {name}"
        if op.id_variables:
            missing = {**variables, **dict.fromkeys(op.id_variables, MISSING_ID)}
            other = (await apis[role].send(op.document, missing))["errors"][0]
            ids = [str(variables[k]) for k in op.id_variables] + [MISSING_ID]
            assert other["extensions"]["code"] == code, f"{role} on {name} can tell existing from missing ids"
            assert _without_ids(other["message"], ids) == _without_ids(body["errors"][0]["message"], ids)
    for role in [r for r in ROLES if r in op.allowed]:
        body = await apis[role].send(op.document, variables)
        assert not body.get("errors"), f"{role} may run {name}: {body}"
        assert body["data"][name] is not None


async def first_result(stream: SubscriptionResult | ExecutionResult, seconds: float) -> ExecutionResult | None:
    """The first thing a subscription yields within ``seconds``, or None."""
    if isinstance(stream, ExecutionResult):
        return stream  # refused before it started: an ExecutionResult with errors
    try:
        return await asyncio.wait_for(stream.__anext__(), timeout=seconds)
    except (TimeoutError, StopAsyncIteration):
        return None
    finally:
        with contextlib.suppress(Exception):
            await stream.aclose()


@pytest.mark.parametrize("name", sorted(SUBSCRIPTIONS))
async def test_each_subscription_as_each_role(
    name: str, world: tuple[World, dict[str, Api]], db: Database, clock: FrozenClock, app: Starlette
) -> None:
    w, apis = world
    op = SUBSCRIPTIONS[name]
    prepared = await op.prepare(w)
    secret = prepared.get("_secret")
    variables = {k: v for k, v in prepared.items() if not k.startswith("_")}
    state = app.state.ordertrack
    graphql_schema = build_schema(state.settings)
    for role in ROLES:
        actor = None
        token = apis[role].token
        if token:
            async with db.read() as session:
                actor = (await actor_for_token(session, token, clock.now())).actor
        context = Context(db=db, clock=clock, settings=state.settings, policy=state.policy, actor=actor, services=state.services)
        stream = await graphql_schema.subscribe(op.document, variable_values=variables, context_value=context)
        result = await first_result(stream, 1.0 if role in op.scoped else 5.0)
        if role in op.allowed:
            assert result is not None and not result.errors and result.data is not None, f"{role} may follow {name}: {result}"
            assert result.data[name]["sequence"] >= 1
        elif role in op.scoped:
            assert result is None or secret not in ids_in(result.data), f"{role} saw partner A's events via {name}"
        else:
            assert result is not None and result.errors, f"{role} may not follow {name}: {result}"
            code = (result.errors[0].extensions or {}).get("code")
            assert code in REFUSALS[role], f"{role} on {name}: {code}"
