"""Apollo's automatic persisted queries (``extensions.persistedQuery``) and the partner safelist.

A client sends ``{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": H}}}`` without the query.
Known hash -> the stored text runs. Unknown -> ``PERSISTED_QUERY_NOT_FOUND``; the client sends the query
with the hash again, and once the hash checks out the text is stored. The front-end contract's
operations are registered when the app starts. With ``PARTNER_PERSISTED_ONLY`` partner tokens may run
the contract's operations only (by hash or by their exact text) and cannot register new ones.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import ExecutionResult, GraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from app.auth import Actor
from app.graphql.contract import ContractOperation, sha256_hex

HASH = re.compile(r"^[0-9a-f]{64}$")


class PersistedQueryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def graphql_error(self) -> GraphQLError:
        return GraphQLError(self.message, extensions={"code": self.code})


NOT_FOUND = PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
NOT_IN_LIST = PersistedQueryError(
    "PERSISTED_QUERY_NOT_IN_LIST", "Partner tokens may only run the front-end contract's persisted operations."
)


@dataclass
class ParsedRequest(GraphQLRequestData):
    """Request data after the persisted-query step: the text to run, or why there is none."""

    sha256: str | None = None  # hash of the query text that will run
    register: bool = False  # text sent with its hash and not yet known: store it if the caller may
    rejection: PersistedQueryError | None = None


@dataclass
class PersistedQueries:
    """The hash -> text store: the contract's operations (fixed) and what clients registered (bounded LRU)."""

    contract: dict[str, str]
    operations: list[ContractOperation] = field(default_factory=list)  # the contract's, for its manifest
    max_bytes: int = 8 * 1024 * 1024
    partner_only: bool = False
    _stored: OrderedDict[str, str] = field(default_factory=OrderedDict)
    _bytes: int = 0

    @classmethod
    def of(cls, ops: list[ContractOperation], **kwargs: Any) -> PersistedQueries:
        return cls(contract={o.sha256: o.body for o in ops}, operations=list(ops), **kwargs)

    def lookup(self, sha256: str) -> str | None:
        if sha256 in self.contract:
            return self.contract[sha256]
        text = self._stored.get(sha256)
        if text is not None:
            self._stored.move_to_end(sha256)
        return text

    def store(self, sha256: str, text: str) -> None:
        if sha256 in self.contract or sha256 in self._stored or len(text) > self.max_bytes:
            return
        self._stored[sha256] = text
        self._bytes += len(text)
        while self._bytes > self.max_bytes:
            _, dropped = self._stored.popitem(last=False)
            self._bytes -= len(dropped)

    def parse(self, query: str | None, extensions: dict[str, Any] | None) -> tuple[str | None, str | None, bool]:
        """(text to run, its hash, whether to register it); raises PersistedQueryError."""
        if query is not None and not isinstance(query, str):
            raise PersistedQueryError("INVALID_INPUT", "The query must be a string.")
        if extensions is not None and not isinstance(extensions, dict):
            raise PersistedQueryError("INVALID_INPUT", "extensions must be an object.")
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return query, None, False  # hashed only if the partner safelist needs it (see admit)
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_SUPPORTED", "Only persistedQuery version 1 is supported.")
        sha256 = persisted.get("sha256Hash")
        if not isinstance(sha256, str) or not HASH.match(sha256.lower()):
            raise PersistedQueryError("INVALID_INPUT", "persistedQuery.sha256Hash must be 64 hex digits.")
        sha256 = sha256.lower()
        if query is None:
            text = self.lookup(sha256)
            if text is None:
                raise NOT_FOUND
            return text, sha256, False
        if sha256_hex(query) != sha256:
            raise PersistedQueryError(
                "PERSISTED_QUERY_HASH_MISMATCH", "persistedQuery.sha256Hash is not the SHA-256 of the query."
            )
        return query, sha256, self.lookup(sha256) is None

    def parse_request(self, data: GraphQLRequestData) -> ParsedRequest:
        try:
            query, sha256, register = self.parse(data.query, data.extensions)
            rejection = None
        except PersistedQueryError as exc:
            query, sha256, register, rejection = data.query, None, False, exc
        return ParsedRequest(
            query=query,
            variables=data.variables,
            operation_name=data.operation_name,
            extensions=data.extensions,
            protocol=data.protocol,
            sha256=sha256,
            register=register,
            rejection=rejection,
        )

    def admit(self, actor: Actor | None, sha256: str | None, register: bool, text: str | None) -> None:
        """Policy once the caller is known; raises PersistedQueryError. Registers the text if allowed."""
        if self.partner_only and actor is not None and actor.is_partner:
            if sha256 is None and isinstance(text, str):
                sha256 = sha256_hex(text)
            if sha256 not in self.contract:
                raise NOT_IN_LIST
        if register and actor is not None and text is not None and sha256 is not None:
            self.store(sha256, text)  # only signed-in callers fill the store

    def check(self, actor: Actor | None, request: ParsedRequest) -> ExecutionResult | None:
        """An error result for a refused request, else None (and the request may run)."""
        try:
            if request.rejection is not None:
                raise request.rejection
            self.admit(actor, request.sha256, request.register, request.query)
        except PersistedQueryError as exc:
            return ExecutionResult(data=None, errors=[exc.graphql_error()])
        return None

    def resolve_ws(self, actor: Actor | None, payload: dict[str, Any]) -> str:
        """A websocket ``subscribe``/``start`` payload -> the text to run; raises PersistedQueryError."""
        query, sha256, register = self.parse(payload.get("query"), payload.get("extensions"))
        self.admit(actor, sha256, register, query)
        if query is None:
            raise PersistedQueryError("INVALID_INPUT", "Send a query or a persistedQuery hash.")
        return query


def _persisted(handler: Any) -> PersistedQueries:
    return handler.view.persisted


class PersistedTransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws: resolve persisted queries and apply the partner safelist per ``subscribe``."""

    async def handle_subscribe(self, message: Any) -> None:
        payload = message.get("payload")
        if self.connection_acknowledged and isinstance(payload, dict) and message.get("id") not in self.operations:
            try:
                payload["query"] = _persisted(self).resolve_ws(self.context.actor, payload)
            except PersistedQueryError as exc:
                await self.send_message({"id": message["id"], "type": "error", "payload": [exc.graphql_error().formatted]})
                return
        await super().handle_subscribe(message)


class PersistedLegacyWSHandler(BaseGraphQLWSHandler[Any, Any]):
    """Legacy graphql-ws: the same per ``start``."""

    async def handle_start(self, message: Any) -> None:
        payload = message.get("payload")
        if self.connection_acknowledged and isinstance(payload, dict):
            try:
                payload["query"] = _persisted(self).resolve_ws(self.context.actor, payload)
            except PersistedQueryError as exc:
                await self.send_message({"type": "error", "id": message["id"], "payload": exc.graphql_error().formatted})
                return
        await super().handle_start(message)


class PersistedQueryView:
    """Mixed into the strawberry view: persisted queries in the parsing step, the policy before execution."""

    persisted: PersistedQueries
    graphql_transport_ws_handler_class = PersistedTransportWSHandler
    graphql_ws_handler_class = PersistedLegacyWSHandler

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET with only a persisted hash has no `query`; it is an operation, not a browser asking for the IDE.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(request)  # type: ignore[misc]  # a mixin: the strawberry view it is mixed into defines this

    async def parse_http_body(self, request: Any) -> Any:
        data = await super().parse_http_body(request)  # type: ignore[misc]  # a mixin: the strawberry view it is mixed into defines this
        if isinstance(data, list):
            return [self.persisted.parse_request(d) for d in data]
        return self.persisted.parse_request(data)

    async def execute_operation(
        self, request: Any, request_adapter: Any, request_data: Any, context: Any, root_value: Any, sub_response: Any
    ) -> Any:
        actor = getattr(context, "actor", None)
        if isinstance(request_data, list):
            results = []
            for data in request_data:
                refused = self.persisted.check(actor, data)
                # A mixin: the strawberry view it is mixed into defines execute_operation.
                run = super().execute_operation  # type: ignore[misc]
                results.append(refused or await run(request, request_adapter, data, context, root_value, sub_response))
            return results
        refused = self.persisted.check(actor, request_data)
        if refused is not None:
            return refused
        return await super().execute_operation(request, request_adapter, request_data, context, root_value, sub_response)  # type: ignore[misc]  # a mixin: the strawberry view it is mixed into defines this


def persisted_queries(settings: Any) -> PersistedQueries:
    """The store with the contract's operations registered (none if the contract folder is missing)."""
    from pathlib import Path

    from app.graphql.contract import CONTRACT_DIR, load_operations

    folder = Path(settings.contract_dir) if settings.contract_dir else CONTRACT_DIR
    ops = load_operations(folder) if (folder / "operations").is_dir() else []
    return PersistedQueries.of(ops, partner_only=settings.partner_persisted_only, max_bytes=settings.persisted_query_store_bytes)
