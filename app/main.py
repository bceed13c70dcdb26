"""The ASGI application: GraphQL (HTTP and websockets), health checks, and the background parts."""

from __future__ import annotations

import asyncio
import gc
import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from functools import partial
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

from app.auth import Actor, TokenCache, authenticate, hash_token, note_use
from app.clock import Clock, SystemClock
from app.components import Component, default_components
from app.config import Settings, get_settings
from app.consistency import reconciler
from app.dashboard import routes as dashboard_routes
from app.db import Database
from app.errors import DomainError, ErrorCode, Unauthenticated, Unavailable
from app.graphql.context import Context
from app.graphql.direct_lane import DirectLane
from app.graphql.errors import finalize_errors
from app.graphql.limits import limit_rules
from app.graphql.media_type import MediaTypeView
from app.graphql.persisted import PersistedQueryView, persisted_queries
from app.graphql.response_cache import ResponseCacheView, response_cache
from app.graphql.schema import build_schema, direct_mutations
from app.graphql.session_recheck import PrincipalCheck
from app.graphql.ws_handlers import DirectLegacyWSHandler, DirectTransportWSHandler
from app.jeopardy.policy import Policy, load_policy
from app.middleware import BodySizeLimit, RequestContext, error_body
from app.observability import metrics
from app.state import AppState
from app.webhooks.catalogue import catalogue

log = logging.getLogger("ordertrack")
# A session's re-check waits this much past its cached check's end, so that it looks the token up afresh.
RECHECK_SLACK = 0.02


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


class OrderTrackGraphQL(MediaTypeView, PersistedQueryView, ResponseCacheView, JSONView, GraphQL[Context, None]):
    graphql_transport_ws_handler_class = DirectTransportWSHandler
    graphql_ws_handler_class = DirectLegacyWSHandler

    def __init__(self, state: AppState, **kwargs: Any) -> None:
        super().__init__(build_schema(state.settings), **kwargs)
        self.state = state
        self.persisted = persisted_queries(state.settings)  # the contract's operations pre-registered
        self.responses = response_cache(state.settings)
        self.tokens = TokenCache(state.settings.token_cache_seconds)
        self._lookups: dict[str, asyncio.Future[Actor | None]] = {}
        settings = state.settings
        self.direct = DirectLane(
            self.schema,
            direct_mutations(settings),
            max_tokens=settings.max_tokens,
            rules=limit_rules(settings),
            cache_size=settings.graphql_cache_size,
        )

    async def execute_single(
        self, request: Any, request_adapter: Any, sub_response: Any, context: Context, root_value: Any, request_data: Any
    ) -> Any:
        """One operation (after the persisted-query policy): on the direct lane when it qualifies, else strawberry."""
        answer = await self.direct.execute(request_adapter.method, request_data, context)
        if answer is not None:
            return answer
        return await super().execute_single(request, request_adapter, sub_response, context, root_value, request_data)

    async def process_result(self, request: Any, result: Any) -> Any:
        if result.errors:
            result.errors = finalize_errors(result.errors)
        return await super().process_result(request, result)

    async def principal(self, authorization: str | None) -> Actor | None:
        """The actor behind an ``Authorization`` value: from the token cache, else looked up (and its use noted).

        Concurrent look-ups of one token share one query: every socket of a token re-checks it when
        the cached check runs out, all at the same moment."""
        now = self.state.clock.now()
        if not authorization:
            return None
        if (known := self.tokens.get(authorization, now)) is not None:
            return known
        key = hash_token(authorization)
        pending = self._lookups.get(key)
        if pending is None:
            pending = self._lookups[key] = asyncio.ensure_future(self._look_up(authorization, now))
            pending.add_done_callback(partial(self._looked_up, key))
        return await asyncio.shield(pending)

    def _looked_up(self, key: str, done: asyncio.Future[Actor | None]) -> None:
        self._lookups.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every waiter was cancelled meanwhile

    async def _look_up(self, authorization: str, now: datetime) -> Actor | None:
        async with self.state.db.read() as session:
            verified = await authenticate(session, authorization, now)
        if verified is None:
            return None
        if verified.stale_use and verified.actor.token_id is not None:
            await self._note_use(verified.actor.token_id, now)
        self.tokens.put(authorization, verified.actor)
        return verified.actor

    async def recheck(self, context: Context) -> None:
        """UNAUTHENTICATED when the token an open session was opened with was revoked or has expired."""
        actor = await self.principal(context.authorization)
        if actor is None or context.actor is None or actor.token_id != context.actor.token_id:
            raise Unauthenticated("The token is unknown or revoked.")

    def recheck_due_in(self, context: Context) -> float:
        """When the session's next re-check can tell something new: its cached check runs out, or its token expires."""
        ttl = self.tokens.ttl
        fresh = self.tokens.fresh_for(context.authorization) if ttl > 0 and context.authorization else 0.0
        wait = fresh if fresh > 0 else max(ttl, 1.0)  # nothing cached (the last look-up failed): wait a whole period
        expires = context.actor.expires_at if context.actor is not None else None
        if expires is not None:
            wait = min(wait, (expires - self.state.clock.now()).total_seconds())
        return max(wait, 0.0) + RECHECK_SLACK

    async def _note_use(self, token_id: int, now: datetime) -> None:
        try:
            async with self.state.db.write_session() as session:
                await note_use(session, token_id, now)
                await session.commit()
        except Exception:  # the last-use date is a hint; it never fails a request
            log.debug("storing a token's last use failed", exc_info=True)

    async def get_context(self, request: Any, response: Any) -> Context:
        ctx = Context(
            db=self.state.db,
            clock=self.state.clock,
            settings=self.state.settings,
            policy=self.state.policy,
            services=self.state.services,
            request=request,
        )
        ctx.principal_check = PrincipalCheck(recheck=partial(self.recheck, ctx), due_in=partial(self.recheck_due_in, ctx))
        try:
            ctx.authorization = request.headers.get("authorization")
            ctx.actor = await self.principal(ctx.authorization)
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
            actor = await self.principal(str(header) if header else None)
        except Unavailable:
            raise  # not a rejection: the handler closes with "try again later" (app/graphql/ws_handlers.py)
        except DomainError as exc:
            raise ConnectionRejectionError({"code": exc.code.value, "message": exc.message}) from exc
        if actor is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": "Send the token in connection_init."})
        context.actor, context.auth_error, context.authorization = actor, None, str(header)
        return {"role": actor.role.value}


def metrics_refusal(settings: Settings, authorization: str | None) -> Response | None:
    """None when the caller may read /metrics: anyone without METRICS_TOKEN (outside production), else
    only ``Bearer <METRICS_TOKEN>``; production without a token set refuses everyone."""
    expected = settings.metrics_token
    if expected is None and not settings.production:
        return None
    if (
        expected is not None
        and authorization is not None
        and hmac.compare_digest(authorization.encode(), f"Bearer {expected}".encode())
    ):
        return None
    message = "Send Authorization: Bearer <METRICS_TOKEN>." if expected else "Set METRICS_TOKEN to read /metrics in production."
    return Response(
        error_body(message, ErrorCode.UNAUTHENTICATED),
        status_code=401,
        media_type="application/json",
        headers={"www-authenticate": "Bearer"},
    )


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


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    components: list[Component] | None = None,
    policy: Policy | None = None,
) -> Starlette:
    """Build the app. Tests pass their own database, clock and escalation policy (else the settings'
    policy file, or the shipped one, is loaded here); ``components`` start with the app."""
    settings = settings or get_settings()
    if components is None:
        components = default_components(settings)
    if settings.database_url.startswith("sqlite") and db is None:
        path = settings.database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    state = AppState(
        settings=settings,
        db=db or Database(settings.database_url, pool_size=settings.db_pool_size, schema=settings.database_schema),
        clock=clock or SystemClock(),
        policy=policy or load_policy(settings.jeopardy_policy_file),
    )
    if settings.read_planner:
        from app.graphql.planner import ReadPlanner
        from app.orders.graphql.read_model import READ_MODEL, ROOTS

        state.services.read_planner = ReadPlanner(READ_MODEL, ROOTS, sqlite_dialect=state.db.is_sqlite)
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

    async def event_catalogue(_: Request) -> JSONResponse:
        return JSONResponse({"eventTypes": catalogue()})

    async def metrics_endpoint(request: Request) -> Response:
        refused = metrics_refusal(settings, request.headers.get("authorization"))
        if refused is not None:
            return refused
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    gauges = metrics.OrderGauges(state.db, settings.metrics_refresh_seconds)

    if state.db.reconcile is None:  # every write keeps its orders consistent (see app/consistency.py)
        state.db.reconcile = reconciler(state.policy)
        state.db.calendars = state.policy.calendars
    if metrics.count_published not in state.db.publishers:
        state.db.publishers.append(metrics.count_published)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tune_gc()
        async with AsyncExitStack() as stack:
            if db is None:
                stack.push_async_callback(state.db.dispose)
            gauges.start()
            stack.push_async_callback(gauges.stop)
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
            Route("/events/catalogue", event_catalogue),
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_app),
            *dashboard_routes(graphql_app.persisted),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(RequestContext, production=settings.production),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, read_timeout=settings.body_read_timeout_seconds),
        ],
    )
    app.state.ordertrack = state
    return app
