"""The operations dashboard: static files at ``/`` and the contract's operations it sends by hash."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from app.graphql.contract import manifest
from app.graphql.persisted import PersistedQueries

STATIC = Path(__file__).resolve().parent / "static"


def routes(persisted: PersistedQueries) -> list[BaseRoute]:
    """Mounted last: ``/`` serves app/static (index.html); the manifest lists the pre-registered operations."""
    body = json.loads(manifest(persisted.operations))

    async def operations(_: Request) -> JSONResponse:
        return JSONResponse(body, headers={"Cache-Control": "no-cache"})

    return [
        Route("/contract/persisted-operations.json", operations),
        Mount("/", StaticFiles(directory=STATIC, html=True), name="dashboard"),
    ]
