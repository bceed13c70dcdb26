"""Whole-response cache for read queries, validated by the event log's sequence.

Every committed change of any order appends events, and events are numbered gap-free at commit
(``app.events``). So if the newest committed sequence number is the one an answer was computed
at, no data it read has changed since. Each request reads that number with one statement (in
every process, so a write through any process is seen by the next query through any other: a
client that got a mutation's answer and then queries sees its write) and reuses the stored answer
when the number is unchanged.

The key is the document's SHA-256, the operation name, the variables and the principal's scope
(role and party, never the token). Only error-free query answers are kept (never mutations,
subscriptions or answers with errors), and only answers that used nothing but stored data: an
answer whose execution read the clock, or a field that depends on who exactly asks or on this
process's configuration (``Context.varies_with``), is not kept. Answers are kept encoded, in an
LRU bounded by entries and bytes (``RESPONSE_CACHE_SIZE``, ``RESPONSE_CACHE_BYTES``; size 0 turns
the cache off). Identical questions at the same sequence that arrive while one is being answered
wait for that answer (after a write every open dashboard misses at once).

The sequence is read from the database rather than learnt from the event bus: the bus reaches
other processes a little after the commit, and in that window a process would hand out an answer
older than a write its client has already seen acknowledged.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from app.db import Database
from app.events import last_sequence
from app.observability import metrics
from app.observability.logs import current_request

Key = tuple[str, str | None, bytes, str, int | None]


@dataclass
class CachedResult(ExecutionResult):
    """An error-free answer with its encoded JSON (``{"data": ...}``), so it is encoded once."""

    text: str = ""


@dataclass(frozen=True)
class Encoded:
    """A response body already encoded (what ``process_result`` returns for a ``CachedResult``)."""

    text: str


@dataclass
class ResponseCache:
    """Encoded answers by key, each with the event sequence number it was computed at (LRU)."""

    max_entries: int
    max_bytes: int
    _entries: OrderedDict[Key, tuple[int, str]] = field(default_factory=OrderedDict)
    _bytes: int = 0
    _not_queries: OrderedDict[tuple[str, str | None], None] = field(default_factory=OrderedDict)
    flights: dict[tuple[Key, int], asyncio.Future[str | None]] = field(default_factory=dict)  # answers being computed

    def is_query(self, key: Key) -> bool:
        """False once the document's operation ran as a mutation or subscription, or failed to parse or
        validate: no sequence read for it again."""
        return key[:2] not in self._not_queries

    def not_a_query(self, key: Key) -> None:
        self._not_queries[key[:2]] = None
        while len(self._not_queries) > 4 * self.max_entries:
            self._not_queries.popitem(last=False)

    def get(self, key: Key, seq: int) -> str | None:
        found = self._entries.get(key)
        if found is None or found[0] != seq:
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(self, key: Key, seq: int, text: str) -> None:
        if len(text) > self.max_bytes:
            return
        old = self._entries.get(key)
        if old is not None:
            if old[0] > seq:
                return  # a slower request computed at an older sequence: keep the newer answer
            self._bytes -= len(old[1])
        self._entries[key] = (seq, text)
        self._entries.move_to_end(key)
        self._bytes += len(text)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)


def cache_key(request_data: Any, context: Any) -> Key | None:
    """The key of a request, or None when its answer must not be shared (nobody signed in, odd input)."""
    actor = getattr(context, "actor", None)
    query = request_data.query
    if actor is None or getattr(context, "auth_error", None) is not None or not isinstance(query, str):
        return None
    variables = request_data.variables
    if variables is not None and not isinstance(variables, dict):
        return None
    try:
        encoded_variables = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    document = getattr(request_data, "sha256", None) or hashlib.sha256(query.encode()).hexdigest()
    return (document, request_data.operation_name, encoded_variables, actor.role.value, actor.party_id)


async def committed_sequence(db: Database) -> int:
    """The newest committed event's sequence number: one statement (on a bare connection: an ORM
    session costs more than the statement)."""
    async with db.engine.connect() as connection:
        return await last_sequence(connection)


class NoteOperationType(SchemaExtension):
    """Tells the context which kind of operation ran (the cache keeps queries only)."""

    def on_execute(self) -> Any:
        ctx = self.execution_context
        try:
            kind = ctx.operation_type.value
        except (RuntimeError, AttributeError):
            kind = None
        if hasattr(ctx.context, "operation_type"):
            ctx.context.operation_type = kind
        yield


class ResponseCacheView:
    """Mixed into the strawberry view, after the persisted-query policy and before execution."""

    responses: ResponseCache | None = None

    async def execute_operation(
        self, request: Any, request_adapter: Any, request_data: Any, context: Any, root_value: Any, sub_response: Any
    ) -> Any:
        cache = self.responses
        run = super().execute_operation  # type: ignore[misc]  # a mixin: the strawberry view it is mixed into defines this
        if (
            cache is None
            or isinstance(request_data, list)  # PersistedQueryView hands a batch over one operation at a time
            or request_data.protocol != "http"
            or (request_adapter.method == "GET" and not self.allow_queries_via_get)  # type: ignore[attr-defined]  # a mixin: the strawberry view it is mixed into defines this
        ):
            return await run(request, request_adapter, request_data, context, root_value, sub_response)
        key = cache_key(request_data, context)
        if key is None or not cache.is_query(key):
            return await run(request, request_adapter, request_data, context, root_value, sub_response)
        try:
            seq = await committed_sequence(context.db)
        except Exception:  # noqa: BLE001  the operation itself reports the outage
            return await run(request, request_adapter, request_data, context, root_value, sub_response)
        args = (request, request_adapter, request_data, context, root_value, sub_response)
        text = cache.get(key, seq)
        if text is None and (flight := cache.flights.get((key, seq))) is not None:
            # The same question at the same sequence is being answered right now (after a write every
            # dashboard misses at once): wait for that answer instead of computing it again.
            text = await asyncio.shield(flight)
            if text is None:  # that answer was not one to share (errors, the clock): answer this one alone
                metrics.RESPONSE_CACHE.labels(outcome="miss").inc()
                return await self._execute_and_keep(cache, key, seq, *args)
        if text is not None:
            _count_hit(request_data.operation_name)
            return CachedResult(data=None, errors=None, text=text)
        metrics.RESPONSE_CACHE.labels(outcome="miss").inc()
        flight = cache.flights[(key, seq)] = asyncio.get_running_loop().create_future()
        answer: str | None = None
        try:
            result = await self._execute_and_keep(cache, key, seq, *args)
            if isinstance(result, CachedResult):
                answer = result.text
            return result
        finally:
            del cache.flights[(key, seq)]
            flight.set_result(answer)

    async def _execute_and_keep(
        self,
        cache: ResponseCache,
        key: Key,
        seq: int,
        request: Any,
        request_adapter: Any,
        request_data: Any,
        context: Any,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        """Execute; keep an answer that is an error-free query answer from stored data only."""
        context.begin_operation()
        result = await super().execute_operation(request, request_adapter, request_data, context, root_value, sub_response)  # type: ignore[misc]  # a mixin: the strawberry view it is mixed into defines this
        if context.operation_type != "query":  # a mutation, or a document that never ran (parse or validation error)
            cache.not_a_query(key)
        if (
            type(result) is ExecutionResult
            and not result.errors
            and not result.extensions
            and result.data is not None
            and context.operation_type == "query"
            and not context.varies
        ):
            text = self.encode_json({"data": result.data})
            cache.put(key, seq, text)
            return CachedResult(data=result.data, errors=None, text=text)
        return result

    async def process_result(self, request: Any, result: Any) -> Any:
        if isinstance(result, CachedResult):
            return Encoded(result.text)
        return await super().process_result(request, result)  # type: ignore[misc]  # a mixin: the strawberry view it is mixed into defines this

    def encode_json(self, data: object) -> str:
        if isinstance(data, Encoded):
            return data.text
        if isinstance(data, list) and any(isinstance(d, Encoded) for d in data):
            return "[" + ",".join(self.encode_json(d) for d in data) + "]"
        return super().encode_json(data)  # type: ignore[misc]  # a mixin: the view class it is mixed into has encode_json


def _count_hit(operation_name: str | None) -> None:
    name = metrics.operation_label(operation_name)
    info = current_request.get()
    if info is not None:
        info.operation = name
    metrics.GRAPHQL_REQUESTS.labels(operation=name, type="query").inc()
    metrics.RESPONSE_CACHE.labels(outcome="hit").inc()


def response_cache(settings: Any) -> ResponseCache | None:
    """The cache the settings ask for; None when ``response_cache_size`` is 0."""
    if settings.response_cache_size <= 0:
        return None
    return ResponseCache(max_entries=settings.response_cache_size, max_bytes=settings.response_cache_bytes)
