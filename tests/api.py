"""A small GraphQL client for tests: send an operation, get data or the error."""

from __future__ import annotations

from typing import Any

import httpx


class Api:
    def __init__(self, http: httpx.AsyncClient, token: str | None) -> None:
        self.http = http
        self.token = token

    async def send(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def ok(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Data of a successful operation (fails the test on any error)."""
        body = await self.send(query, variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The first error of an operation that must fail."""
        body = await self.send(query, variables)
        assert body.get("errors"), f"expected an error, got {body}"
        return body["errors"][0]

    async def code(self, query: str, variables: dict[str, Any] | None = None) -> str:
        return (await self.error(query, variables)).get("extensions", {}).get("code", "")
