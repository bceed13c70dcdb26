"""GraphQL over HTTP: a client that asks for application/graphql-response+json gets it (4xx and no
`data` when the request fails before execution); application/json clients keep the 200 answers they
know. The graphql-http audit suite (npm) runs against a real server: every check passes, none warns."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from app.db import Database
from app.graphql.media_type import GRAPHQL_RESPONSE_JSON, JSON, preferred_media_type
from tests.launcher import ServiceProcess

AUDIT_DIR = Path(__file__).resolve().parent / "graphql_http"
BROKEN = {"query": "{ me { name "}
UNKNOWN_FIELD = {"query": "{ noSuchField }"}
BAD_VARIABLE = {"query": "query($first: Int) { customerOrders(first: $first) { totalCount } }", "variables": {"first": "many"}}
FIELD_ERROR = {"query": "{ me { name } }"}  # anonymous: `me` refuses, after execution began


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0, */*", JSON),
        (f"*/*;q=0.8, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        ("text/html", JSON),
    ],
)
def test_the_client_accept_header_chooses_the_media_type(accept: str | None, chosen: str) -> None:
    assert preferred_media_type(accept) == chosen


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    folder = tmp_path_factory.mktemp("graphql-http")
    url = f"sqlite+aiosqlite:///{folder}/audit.db"

    async def prepare() -> None:
        db = Database(url)
        try:
            await db.create_all()
        finally:
            await db.dispose()

    asyncio.run(prepare())
    proc = ServiceProcess({"DATABASE_URL": url, "MONITOR_ENABLED": "false"}, log_path=folder / "server.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _post(server: ServiceProcess, body: Mapping[str, object], accept: str) -> httpx.Response:
    return httpx.post(f"{server.url}/graphql", json=body, headers={"Accept": accept}, timeout=10)


@pytest.mark.parametrize("body", [BROKEN, UNKNOWN_FIELD, BAD_VARIABLE], ids=["parse", "validation", "variable"])
def test_a_request_error_is_a_400_without_data_for_graphql_response_json(server: ServiceProcess, body: dict[str, object]) -> None:
    response = _post(server, body, GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    answer = response.json()
    assert "data" not in answer
    assert answer["errors"] and all(e["extensions"]["code"] for e in answer["errors"])


@pytest.mark.parametrize("body", [BROKEN, UNKNOWN_FIELD, BAD_VARIABLE], ids=["parse", "validation", "variable"])
def test_an_application_json_client_keeps_its_200_with_data_null(server: ServiceProcess, body: dict[str, object]) -> None:
    response = _post(server, body, "application/json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    answer = response.json()
    assert answer["data"] is None and answer["errors"][0]["extensions"]["code"]


def test_a_field_error_once_execution_began_is_a_200_with_data_in_either_media_type(server: ServiceProcess) -> None:
    for accept in (GRAPHQL_RESPONSE_JSON, "application/json"):
        response = _post(server, FIELD_ERROR, accept)
        assert response.status_code == 200
        answer = response.json()
        assert "data" in answer and answer["errors"][0]["path"] == ["me"]
        assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.fixture(scope="module")
def audit_install() -> Path:
    """graphql-http installed by ``npm ci`` into a cache folder of its own (keyed by the lock file)."""
    if not (shutil.which("node") and shutil.which("npm")):
        if os.environ.get("CI"):
            pytest.fail("node and npm are needed on CI for the graphql-http audit.")
        pytest.skip("node/npm are not installed (this skip is refused when CI is set).")
    lock = (AUDIT_DIR / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "ordertrack-tests" / f"graphql-http-{hashlib.sha256(lock).hexdigest()[:12]}"
    if not (folder / "node_modules" / "graphql-http" / "package.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(AUDIT_DIR / name, folder / name)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
            cwd=folder,
            check=True,
            capture_output=True,
            timeout=300,
        )
    shutil.copy(AUDIT_DIR / "audit.mjs", folder / "audit.mjs")
    return folder


def test_the_graphql_http_audit_passes_every_check_with_no_warning(server: ServiceProcess, audit_install: Path) -> None:
    run = subprocess.run(
        ["node", "audit.mjs", f"{server.url}/graphql"], cwd=audit_install, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    not_ok = [f"{r['status']}: {r['name']} ({r['reason']})" for r in results if r["status"] != "ok"]
    assert not_ok == [], "\n".join(not_ok)
    assert len(results) == 61  # the suite of graphql-http 1.23.1: a new version with more checks must be looked at
