"""schemathesis generates queries and mutations for every root field from the live schema and fires
them at a real server (staff token): no 5xx, no unmasked internal error, every error has a code, and
afterwards the event log is still complete and in sequence."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.result import Err, Ok
from schemathesis.generation import GenerationMode
from schemathesis.graphql import nodes
from schemathesis.schemas import APIOperation

from app.audit import audit
from app.auth import Role, create_token
from app.clock import SystemClock
from app.db import Database
from tests.factories import CREATE, SCHEDULE, order_input
from tests.launcher import ServiceProcess

EXAMPLES_PER_OPERATION = 8  # bounded: about 40 root fields x (8 + 3) examples, well under a minute
NEGATIVE_EXAMPLES = 3  # documents that break the schema's rules on purpose

# Mostly ids that exist (so mutations reach the domain code), sometimes anything at all.
schemathesis.graphql.scalar(
    "ID", st.one_of(st.integers(1, 8).map(str), st.integers(1, 8).map(str), st.text(max_size=30)).map(nodes.String)
)


async def _prepare(url: str) -> str:
    db = Database(url)
    try:
        await db.create_all()
        async with db.write_session() as session:
            token, _ = await create_token(session, name="fuzz.staff", role=Role.STAFF, now=SystemClock().now())
            await session.commit()
        return token
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, str, str]]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite+aiosqlite:///{folder}/fuzz.db"
    token = asyncio.run(_prepare(url))
    proc = ServiceProcess({"DATABASE_URL": url, "MONITOR_ENABLED": "false"}, log_path=folder / "server.log")
    proc.start()
    headers = {"Authorization": f"Bearer {token}"}
    now = SystemClock().now()
    for _ in range(3):  # some real data to hit
        order = requests.post(
            f"{proc.url}/graphql", json={"query": CREATE, "variables": {"input": order_input(now)}}, headers=headers, timeout=30
        ).json()
        oid = order["data"]["createCustomerOrder"]["id"]
        window = {"kind": "install", "plannedStart": "2099-01-01T00:00:00Z", "plannedEnd": "2099-01-02T00:00:00Z"}
        requests.post(
            f"{proc.url}/graphql",
            json={"query": SCHEDULE, "variables": {"orderId": oid, "input": window}},
            headers=headers,
            timeout=30,
        )
    try:
        yield proc, token, url
    finally:
        proc.stop()


def check_response(response: Any, label: str) -> None:
    assert response.status_code < 500, f"{label}: HTTP {response.status_code}: {response.text[:500]}"
    if response.status_code != 200:
        return  # a refused request (400 bad JSON, 413 too large) is not an executed operation
    body = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, f"{label}: error without a code: {error}"
        assert code != "INTERNAL", (
            f"{label}: unexpected error (see the server log for {error['extensions'].get('errorId')}): {error}"
        )
        assert "Traceback" not in error["message"] and "SELECT " not in error["message"]


def read_operation(result: Ok[APIOperation] | Err[InvalidSchema]) -> APIOperation:
    """The operation schemathesis read from the schema; a schema it cannot read fails the test."""
    assert isinstance(result, Ok), result.err()
    return result.ok()


def test_generated_queries_and_mutations_never_break_the_server(server: tuple[ServiceProcess, str, str]) -> None:
    proc, token, url = server
    schema = schemathesis.graphql.from_url(f"{proc.url}/graphql", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    operations = [read_operation(result) for result in schema.get_all_operations()]
    assert len(operations) >= 15
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for operation, mode in [(op, m) for op in operations for m in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION if mode is GenerationMode.POSITIVE else NEGATIVE_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def fire(case: Any) -> None:
            response = case.call(base_url=f"{proc.url}/graphql", session=session, timeout=30)
            check_response(response, operation.label)  # noqa: B023  fire() runs at once, inside this iteration

        fire()
    report = asyncio.run(audit_url(url))
    assert report.ok, report.problems
    assert report.orders >= 3


async def audit_url(url: str) -> Any:
    db = Database(url)
    try:
        return await audit(db)
    finally:
        await db.dispose()
