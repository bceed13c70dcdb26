"""One execution of a subscription's selection per event, shared by every subscriber that asked the same.

graphql-core executes a subscription's selection set once per event per subscriber. Dashboards
subscribe with identical documents, so with thousands of them the same few fields are resolved
thousands of times per event. Instead, a live event reaches its subscribers through their stream's
fan-out group (app/realtime/fanout.py), whose ``subscription_renderer`` executes the selection once
per event for every subscriber with the same operation (the parser cache hands out one document
object per query text), variables, principal and database, and encodes the ``next`` payload once:
a ``Rendered``. A websocket sends the payload as it is (graphql/ws_handlers.py); on SSE and other
HTTP transports the subscription yields the ``Rendered`` and its per-event executor answers with
the group's result instead of executing again. A rendering is of what the principal may see of
the event (app/event_visibility.py), so it is never shared across visibility classes: the key
starts with the principal's class. Replayed events, and any the group could not render (errors,
data that is not plain JSON), are executed per subscriber as usual.
"""

from __future__ import annotations

import inspect
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

import orjson
from graphql import ExecutionResult

from app.event_visibility import Viewer, visible_event
from app.events import Event
from app.graphql.execution import FastLeafExecution
from app.realtime.fanout import Renderer

# The executor of the subscription whose source stream is being set up in this task (set just before
# its resolver is called), so that the resolver can have its events rendered by the group.
_subscription: ContextVar[SharedEventExecution | None] = ContextVar("subscription_executor", default=None)


@dataclass(frozen=True, slots=True)
class Rendered:
    """An event as its fan-out group executed it for one renderer key: the result, and the payload as JSON text."""

    result: ExecutionResult
    payload: str


def _principal(context: Any) -> tuple[Any, ...]:
    """Who the result is for: their visibility class first (what they may see of events), then who exactly."""
    actor = getattr(context, "actor", None)
    if actor is None:
        return (None, None, None, None)
    return (Viewer.of(actor).visibility_class, actor.role.value, actor.party_id, actor.name)


def _variables(values: Any) -> bytes:
    try:
        return orjson.dumps(getattr(values, "coerced", values) or {}, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:
        return repr(values).encode()


class SharedEventExecution(FastLeafExecution):
    """The schema's executor: queries run as before; a subscription event the fan-out group already
    executed (a ``Rendered``) is answered with the group's result."""

    per_event = False
    rendered: ExecutionResult | None = None

    def build_resolve_info(self, field_def: Any, field_nodes: Any, parent_type: Any, path: Any) -> Any:
        if path.prev is None and not self.per_event and parent_type is self.schema.subscription_type:
            _subscription.set(self)
        return super().build_resolve_info(field_def, field_nodes, parent_type, path)

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = cast(SharedEventExecution, super().build_per_event_executor(payload))  # graphql-core builds one of this class
        executor.per_event = True
        if isinstance(payload, Rendered):
            executor.rendered = payload.result
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        if self.rendered is not None:
            return self.rendered
        return super().execute_operation(serially)


def subscription_renderer(context: Any) -> Renderer | None:
    """For a subscription resolver: the renderer of its events as ``Rendered`` results and payloads,
    shared with every subscriber of the same operation, variables, principal and database; None outside one."""
    executor = _subscription.get()
    if executor is None or executor.context_value is not context:
        return None
    key = (id(executor.operation), id(getattr(context, "db", None)), _variables(executor.variable_values), _principal(context))
    actor = getattr(context, "actor", None)
    if actor is None:
        return None
    viewer = Viewer.of(actor)

    async def render(event: Event) -> Rendered | None:
        """What the viewer may see of this event, executed and encoded, or None when that is nothing or not
        plain data (errors): then each subscriber gets the event and filters or executes it itself."""
        shown = visible_event(event, viewer)
        if shown is None:
            return None
        own = cast(SharedEventExecution, executor.build_per_event_executor(shown))
        fresh = getattr(context, "for_event", None)
        if fresh is not None:
            own.context_value = fresh()
        result = own.execute_operation(False)
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, ExecutionResult) or result.errors:  # incremental delivery is not shared
            return None
        try:
            return Rendered(result, orjson.dumps({"data": result.data}).decode())
        except TypeError:  # orjson.JSONEncodeError: not plain JSON; the usual path knows what to do
            return None

    return Renderer(key, render)
