"""The ASGI application: GraphQL (HTTP and websockets), health checks, and the background parts."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from app.auth import Actor, TokenCache, authenticate
from app.clock import Clock, SystemClock
from app.config import Settings, get_settings
from app.dashboard import routes as dashboard_routes
from app.db import Database
from app.errors import DomainError
from app.graphql.context import Context
from app.graphql.direct_lane import DirectLane
from app.graphql.errors import finalize_errors
from app.graphql.persisted import PersistedQueryView, persisted_queries
from app.graphql.response_cache import ResponseCacheView, response_cache
from app.graphql.schema import build_schema, direct_mutations
from app.graphql.ws_handlers import DirectLegacyWSHandler, DirectTransportWSHandler
from app.middleware import BodySizeLimit, RequestContext
from app.observability import metrics

log = logging.getLogger("ordertrack")

# A background part of the app (bus, monitor): started in the lifespan, stopped in reverse order.
Component = Callable[["AppState"], Any]


@dataclass
class AppState:
    settings: Settings
    db: Database
    clock: Clock
    services: dict[str, Any] = field(default_factory=dict)


class JSONView:
    """orjson both ways."""

    def encode_json(self, data: object) -> str:
        """~10× faster than json for a big tree; text, because websocket frames must be text."""
        try:
            return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:  # an integer beyond 64 bits in a JSON scalar
            return json.dumps(data, separators=(",", ":"))

    def decode_json(self, data: str | bytes) -> object:
        """Strict JSON (orjson): bad UTF-8, lone surrogates and nesting over 1024 levels are a 400, not a 500."""
        return orjson.loads(data)  # orjson.JSONDecodeError is a json.JSONDecodeError


class OrderTrackGraphQL(PersistedQueryView, ResponseCacheView, JSONView, GraphQL[Context, None]):
    graphql_transport_ws_handler_class = DirectTransportWSHandler
    graphql_ws_handler_class = DirectLegacyWSHandler

    def __init__(self, state: AppState, **kwargs: Any) -> None:
        super().__init__(build_schema(state.settings), **kwargs)
        self.state = state
        self.persisted = persisted_queries(state.settings)  # the contract's operations pre-registered
        self.responses = response_cache(state.settings)
        self.tokens = TokenCache(state.settings.token_cache_seconds)
        settings = state.settings
        self.direct = DirectLane(
            self.schema, direct_mutations(settings), max_tokens=settings.max_tokens, max_aliases=settings.max_aliases,
            max_depth=settings.max_query_depth, cache_size=settings.graphql_cache_size,
        )

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any, context: Context, root_value: Any, request_data: Any) -> Any:  # noqa: PLR0913
        """One operation (after the persisted-query policy): on the direct lane when it qualifies, else strawberry."""
        answer = await self.direct.execute(request_adapter.method, request_data, context)
        if answer is not None:
            return answer
        return await super().execute_single(request, request_adapter, sub_response, context, root_value, request_data)

    async def process_result(self, request: Any, result: Any) -> Any:
        if result.errors:
            result.errors = finalize_errors(result.errors)
        return await super().process_result(request, result)

    async def _actor(self, authorization: str | None) -> Actor | None:
        if authorization and (known := self.tokens.get(authorization)) is not None:
            return known
        async with self.state.db.read() as session:
            actor = await authenticate(session, authorization)
        if authorization and actor is not None:
            self.tokens.put(authorization, actor)
        return actor

    async def get_context(self, request: Any, response: Any) -> Context:
        ctx = Context(
            db=self.state.db, clock=self.state.clock, settings=self.state.settings,
            services=self.state.services, request=request,
        )
        try:
            ctx.actor = await self._actor(request.headers.get("authorization"))
        except DomainError as exc:
            ctx.auth_error = exc
        return ctx

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """Websockets authenticate in connection_init: {"authorization": "Bearer <token>"}."""
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        if not header and params.get("token"):
            header = f"Bearer {params['token']}"
        if context.actor is not None and not header:
            return {"role": context.actor.role.value}
        try:
            actor = await self._actor(str(header) if header else None)
        except DomainError as exc:
            raise ConnectionRejectionError({"code": exc.code.value, "message": exc.message}) from exc
        if actor is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": "Send the token in connection_init."})
        context.actor, context.auth_error = actor, None
        return {"role": actor.role.value}


_gc_tuned = False


def tune_gc() -> None:
    """Once per process: a big response allocates tens of thousands of short-lived objects, and with
    the default thresholds the collector ran ~12 times per dashboard request, rescanning everything
    imported at start-up. Start-up objects are frozen out of collection and the youngest generation
    is collected every 10,000 allocations instead of 700 (cycles are still collected)."""
    global _gc_tuned
    if not _gc_tuned:
        _gc_tuned = True
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)


def default_components(settings: Settings) -> list[Callable[[AppState], Awaitable[Any]]]:
    """The background parts a plain ``create_app(settings)`` starts: the event bus, then the monitor."""
    from app.realtime.bus import start_bus

    found: list[Callable[[AppState], Awaitable[Any]]] = [start_bus]
    if settings.monitor_enabled:
        from app.jeopardy.monitor import start_monitor

        found.append(start_monitor)
    return found


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    components: list[Callable[[AppState], Awaitable[Any]]] | None = None,
) -> Starlette:
    """Build the app. Tests pass their own database and clock; ``components`` start with the app."""
    settings = settings or get_settings()
    if components is None:
        components = default_components(settings)
    if settings.database_url.startswith("sqlite") and db is None:
        path = settings.database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    state = AppState(settings=settings, db=db or Database(settings.database_url, pool_size=settings.db_pool_size, schema=settings.database_schema), clock=clock or SystemClock())
    if settings.read_planner and not state.db.is_sqlite:
        from app.graphql.planner import ReadPlanner
        from app.orders.graphql.read_model import READ_MODEL, ROOTS

        state.services["read_planner"] = ReadPlanner(READ_MODEL, ROOTS)
    graphql_app = OrderTrackGraphQL(
        state,
        graphql_ide="graphiql" if settings.graphiql else None,
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        keep_alive=True,
        keep_alive_interval=settings.ws_keep_alive_seconds,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL)
        + ((GRAPHQL_SSE_PROTOCOL,) if settings.graphql_sse else ()),
    )

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        ok = await state.db.ping()
        return JSONResponse({"status": "ready" if ok else "database unreachable"}, status_code=200 if ok else 503)

    async def metrics_endpoint(_: Request) -> Response:
        await metrics.refresh_order_gauges(state.db)
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    if metrics.count_published not in state.db.publishers:
        state.db.publishers.append(metrics.count_published)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tune_gc()
        async with AsyncExitStack() as stack:
            if db is None:
                stack.push_async_callback(state.db.dispose)
            for start in default_components(settings) if components is None else components:
                stop = await start(state)
                if stop is not None:
                    stack.push_async_callback(stop)
            yield

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_app),
            *dashboard_routes(graphql_app.persisted),
        ],
        lifespan=lifespan,
        middleware=[Middleware(RequestContext), Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)],
    )
    app.state.ordertrack = state
    return app
