"""Tokens live until they expire or are revoked: staff issue, list and revoke them; operators do it from the command line."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app import migrate
from app.auth import ApiToken
from app.cli import parser
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.events import Event
from app.main import create_app
from tests.api import Api
from tests.live import wait_until

CREATE = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret token { id name role partyId expiresAt revokedAt } } }"
TOKENS = "{ apiTokens { id name role partyId createdAt lastUsedAt expiresAt revokedAt } }"
REVOKE = "mutation($id: ID!) { revokeToken(id: $id) { id revokedAt } }"
ME = "{ me { name role } }"


@pytest.fixture
async def http(db: Database, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a short token cache (0.2 s), so that the tests see revocations apply."""
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, token_cache_seconds=0.2, _env_file=None
    )
    app = create_app(settings, db=db, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://ordertrack.test") as client,
    ):
        yield client


async def test_staff_issue_a_token_whose_secret_is_shown_once_and_listed_without_it(staff: Api, http: httpx.AsyncClient) -> None:
    made = (await staff.ok(CREATE, {"input": {"name": "wall-screen", "role": "VIEWER", "expiresIn": "30d"}}))["createApiToken"]
    assert made["secret"].startswith("otk_") and made["token"]["name"] == "wall-screen" and made["token"]["expiresAt"]
    screen = Api(http, made["secret"])
    assert (await screen.ok(ME))["me"] == {"name": "wall-screen", "role": "viewer"}
    listed = {t["name"]: t for t in (await staff.ok(TOKENS))["apiTokens"]}
    assert listed["wall-screen"]["role"] == "VIEWER" and listed["wall-screen"]["lastUsedAt"] is not None
    assert listed["sam.staff"]["expiresAt"] is None and listed["sam.staff"]["revokedAt"] is None
    assert made["secret"] not in str(listed)  # the secret is never shown again


async def test_a_revoked_token_stops_working_and_the_revocation_is_logged(
    staff: Api, http: httpx.AsyncClient, db: Database
) -> None:
    made = (await staff.ok(CREATE, {"input": {"name": "old-dashboard", "role": "VIEWER"}}))["createApiToken"]
    dashboard = Api(http, made["secret"])
    await dashboard.ok(ME)  # cached now
    revoked = (await staff.ok(REVOKE, {"id": made["token"]["id"]}))["revokeToken"]
    assert revoked["revokedAt"] is not None
    again = (await staff.ok(REVOKE, {"id": made["token"]["id"]}))["revokeToken"]
    assert again["revokedAt"] == revoked["revokedAt"]  # revoking twice changes nothing

    async def refused() -> bool:
        body = await dashboard.send(ME)
        return bool(body.get("errors")) and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    await wait_until(refused, timeout=5, what="the revocation to apply")  # the cache trusts a checked token 0.2 s
    async with db.read() as session:
        logged = list(
            (await session.execute(select(Event).where(col(Event.entity) == "apiToken").order_by(col(Event.seq)))).scalars()
        )
    assert [(e.type, e.actor, e.data["after"]["name"]) for e in logged] == [
        ("apiTokenIssued", "sam.staff", "old-dashboard"),
        ("apiTokenRevoked", "sam.staff", "old-dashboard"),
    ]


async def test_a_token_stops_working_when_it_expires_even_while_cached(
    staff: Api, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    made = (await staff.ok(CREATE, {"input": {"name": "contractor", "role": "VIEWER", "expiresIn": "2h"}}))["createApiToken"]
    contractor = Api(http, made["secret"])
    await contractor.ok(ME)
    clock.advance(timedelta(hours=2))
    assert await contractor.code(ME) == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"input": {"name": "x", "role": "VIEWER", "expiresIn": "soon"}}, "INVALID_INPUT"),
        ({"input": {"name": "x", "role": "VIEWER", "expiresIn": "0d"}}, "INVALID_INPUT"),
        ({"input": {"name": "x", "role": "PARTNER"}}, "INVALID_INPUT"),
        ({"input": {"name": "x", "role": "PARTNER", "partyId": "424242"}}, "NOT_FOUND"),
        ({"input": {"name": " ", "role": "VIEWER"}}, "INVALID_INPUT"),
    ],
)
async def test_a_token_request_that_makes_no_sense_is_refused_and_issues_nothing(
    staff: Api, variables: dict[str, object], code: str
) -> None:
    before = (await staff.ok(TOKENS))["apiTokens"]
    assert await staff.code(CREATE, variables) == code
    assert (await staff.ok(TOKENS))["apiTokens"] == before


async def test_revoking_a_token_that_does_not_exist_is_not_found(staff: Api) -> None:
    assert await staff.code(REVOKE, {"id": "987654"}) == "NOT_FOUND"


def _run(settings: Settings, *argv: str) -> None:
    args: argparse.Namespace = parser().parse_args(list(argv))
    args.run(settings, args)


def test_an_operator_issues_an_expiring_token_and_revokes_it_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    migrate.upgrade(url)
    settings = Settings(database_url=url, _env_file=None)
    _run(settings, "create-token", "--name", "night-shift", "--role", "staff", "--expires-in", "30d")
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("otk_")
    _run(settings, "revoke-token", "--name", "night-shift")
    assert "revoked 1 token named 'night-shift'" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        _run(settings, "revoke-token", "--name", "night-shift")  # nothing live by that name any more
    assert "No live token" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _run(settings, "create-token", "--name", "x", "--role", "viewer", "--expires-in", "forever")

    async def stored() -> tuple[list[ApiToken], list[str]]:
        db = Database(url)
        try:
            async with db.read() as session:
                rows = list((await session.execute(select(ApiToken))).scalars())
                types = list((await session.execute(select(col(Event.type)).order_by(col(Event.seq)))).scalars())
            return rows, types
        finally:
            await db.dispose()

    rows, types = asyncio.run(stored())
    (row,) = rows
    assert row.revoked_at is not None and row.expires_at is not None
    assert row.expires_at - row.created_at == timedelta(days=30)
    assert types == ["apiTokenIssued", "apiTokenRevoked"]
    assert secret not in str([r.token_hash for r in rows])
