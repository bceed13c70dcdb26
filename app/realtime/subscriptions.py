"""The Subscription type: live event streams, each resumable from an event-log cursor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from app.auth import Role
from app.errors import Forbidden, NotFound, Unavailable
from app.event_visibility import Viewer
from app.events import last_sequence
from app.graphql.ids import parse_id
from app.graphql.permissions import Reader, SignedIn
from app.graphql.session_recheck import until_revoked
from app.graphql.shared_events import Rendered, subscription_renderer
from app.graphql.ws_handlers import LINE
from app.observability.metrics import SUBSCRIPTIONS_OPEN
from app.orders.graphql.enums import JeopardyLevel, OrderState
from app.orders.graphql.types import OrderEvent
from app.orders.models import CustomerOrder
from app.orders.queries import event_cursor
from app.pagination import Seq, decode_cursor
from app.realtime import streams
from app.realtime.bus import EventBus

AFTER = "Resume after this event cursor: every matching event after it is replayed from the log, then the stream goes on live. Without it the stream starts now."


@strawberry.input(description="Which orders a dashboard follows; every field given must match.")
class OrderStreamFilter:
    states: list[OrderState] | None = None
    jeopardy_levels: list[JeopardyLevel] | None = None
    customer_id: str | None = None
    party_id: strawberry.ID | None = strawberry.field(
        default=None, description="Orders with an item or party order of this party."
    )

    def to_domain(self) -> streams.DashboardFilter:
        return streams.DashboardFilter(
            states=[s.value for s in self.states or []],
            jeopardy_levels=[j.value for j in self.jeopardy_levels or []],
            customer_id=self.customer_id,
            party_id=parse_id(self.party_id, "partyId") if self.party_id is not None else None,
        )


def _cursor(after: str | None) -> int | None:
    if after is None:
        return None
    return int(decode_cursor(after, [Seq])[0])


def _bus(info: Info) -> EventBus:
    bus = info.context.services.bus
    if bus is None:
        raise Unavailable("Live events are not running on this server.")
    return bus


async def _push(info: Info, stream: streams.Stream, after: str | None) -> AsyncGenerator[Any, None]:
    """The subscription's items: events (rows, or a partner's views of them) that strawberry resolves as
    ``OrderEvent`` with fresh DataLoaders (the socket's context outlives events), or renderings.

    Live events come from the stream's fan-out group already executed and encoded once for every
    subscriber that asked the same (``Rendered``): on a websocket the payload goes straight to the
    socket (sent by the group itself while this operation waits); on SSE it is yielded, and the
    per-event executor answers with the group's result (graphql/shared_events.py). Replayed events,
    and any event the group could not render, go through strawberry as usual."""
    seq = _cursor(after)
    line = LINE.get()
    renderer = subscription_renderer(info.context)
    direct = line.send_now if line is not None and renderer is not None and line.sends_now else None
    viewer = Viewer.of(info.context.signed_in)
    source: AsyncIterator[Any] = streams.follow(_bus(info), info.context.db, stream, seq, renderer, direct, viewer=viewer)
    check = info.context.principal_check
    if line is None and check is not None and getattr(info.context.request, "scope", {}).get("type") == "http":
        source = until_revoked(source, check)  # SSE: a websocket's handler watches the whole socket instead
    SUBSCRIPTIONS_OPEN.inc()
    try:
        async for item in source:
            if isinstance(item, Rendered):
                if line is None:
                    yield item  # SSE and other HTTP transports: strawberry sends the group's result
                elif not await line.send(item.payload):
                    await asyncio.Future()  # the socket is gone; the handler's shutdown cancels this operation
                continue
            info.context.reset_loaders()
            yield item
    finally:
        SUBSCRIPTIONS_OPEN.dec()
        await source.aclose()  # type: ignore[attr-defined]  # typed as an AsyncIterator; it is an async generator


@strawberry.type
class LiveQuery:
    @strawberry.field(
        permission_classes=[SignedIn],
        description="The cursor of the newest event in the log. Subscribe with it as `after` to miss nothing from this moment, even before the first event arrives.",
    )
    async def event_log_cursor(self, info: Info) -> str:
        async with info.context.db.read() as session:
            return event_cursor(await last_sequence(session))


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        permission_classes=[Reader],
        description="Every event of one customer order: its items, activities, party orders, jeopardy and escalations.",
    )
    async def order_events(
        self, info: Info, order_id: strawberry.ID, after: Annotated[str | None, strawberry.argument(description=AFTER)] = None
    ) -> AsyncGenerator[OrderEvent, None]:
        oid = parse_id(order_id, "orderId")
        async with info.context.db.read() as session:
            if await session.get(CustomerOrder, oid) is None:
                raise NotFound(f"Customer order {oid} does not exist.", field="orderId")
        async for event in _push(info, streams.order_stream(oid), after):
            yield event

    @strawberry.subscription(
        permission_classes=[Reader],
        description="Events of all orders matching a filter (dashboards); an order leaving the filter still sends the event that moved it.",
    )
    async def order_events_matching(
        self,
        info: Info,
        filter: OrderStreamFilter | None = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AsyncGenerator[OrderEvent, None]:
        f = filter.to_domain() if filter else streams.DashboardFilter()
        async for event in _push(info, streams.dashboard_stream(f), after):
            yield event

    @strawberry.subscription(
        permission_classes=[Reader],
        description="Jeopardy and escalation events (types starting with 'jeopardy' or 'escalat'), of all orders or one.",
    )
    async def jeopardy_alerts(
        self,
        info: Info,
        order_id: strawberry.ID | None = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AsyncGenerator[OrderEvent, None]:
        oid = parse_id(order_id, "orderId") if order_id is not None else None
        async for event in _push(info, streams.alert_stream(oid), after):
            yield event

    @strawberry.subscription(
        permission_classes=[SignedIn],
        description="Party order events. A partner gets its own party's only; staff and viewers all, or one party's.",
    )
    async def party_order_events(
        self,
        info: Info,
        party_id: strawberry.ID | None = None,
        party_order_id: strawberry.ID | None = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AsyncGenerator[OrderEvent, None]:
        actor = info.context.signed_in
        wanted = parse_id(party_id, "partyId") if party_id is not None else None
        poid = parse_id(party_order_id, "partyOrderId") if party_order_id is not None else None
        if actor.role is Role.PARTNER:
            if wanted is not None and wanted != actor.party_id:
                raise Forbidden("A partner sees its own party orders only.")
            wanted = actor.party_id
        async for event in _push(info, streams.party_order_stream(wanted, poid), after):
            yield event
