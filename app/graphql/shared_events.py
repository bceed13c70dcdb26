"""One execution of a subscription's selection per event, shared by every subscriber that asked the same.

graphql-core executes a subscription's selection set once per event per subscriber. Dashboards
subscribe with identical documents, so with thousands of them the same few fields are resolved
thousands of times per event. Subscribers with the same operation (the parser cache hands out one
document object per query text), the same variables, principal and database get the result of the
first execution of that event; only error-free, synchronous results are shared.

Subscribers on a websocket go further (``subscription_renderer``): their stream's fan-out group
(app/realtime/fanout.py) executes the selection once per event and encodes the ``next`` payload
once for every subscriber with the same operation, variables, principal and database. A rendering
is of what the principal may see of the event (app/event_visibility.py), so it is never shared
across visibility classes: the key starts with the principal's class.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from contextvars import ContextVar
from typing import Any, cast

import orjson
from graphql import ExecutionResult

from app.event_visibility import Viewer, visible_event
from app.events import Event
from app.graphql.execution import FastLeafExecution
from app.realtime.fanout import Renderer

MAX_SHARED = 4096
_results: OrderedDict[tuple[Any, ...], tuple[Any, Any, Any]] = OrderedDict()
# The executor of the subscription whose source stream is being set up in this task (set just before
# its resolver is called), so that the resolver can have its events rendered by the group.
_subscription: ContextVar[SharedEventExecution | None] = ContextVar("subscription_executor", default=None)


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
    """The schema's executor: queries run as before; subscription events share their execution."""

    per_event = False

    def build_resolve_info(self, field_def: Any, field_nodes: Any, parent_type: Any, path: Any) -> Any:
        if path.prev is None and not self.per_event and parent_type is self.schema.subscription_type:
            _subscription.set(self)
        return super().build_resolve_info(field_def, field_nodes, parent_type, path)

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = cast(SharedEventExecution, super().build_per_event_executor(payload))  # graphql-core builds one of this class
        executor.per_event = True
        seq = getattr(payload, "seq", None)
        if not isinstance(seq, int):
            return executor
        operation = self.operation
        source = getattr(self.context_value, "db", None)  # sequence numbers are unique per database
        key = (seq, id(operation), id(source), _variables(self.variable_values), _principal(self.context_value))
        own = executor.execute_operation

        def execute_operation(serially: bool | None = None) -> Any:
            hit = _results.get(key)
            if hit is not None and hit[0] is operation and hit[1] is source:  # identity: guards against reused id()s
                return hit[2]
            result = own(serially)
            if not inspect.isawaitable(result) and not getattr(result, "errors", None):
                _results[key] = (operation, source, result)
                while len(_results) > MAX_SHARED:
                    _results.popitem(last=False)
            return result

        executor.execute_operation = execute_operation  # type: ignore[method-assign]  # this one executor's operation shares results; the class stays as it is
        return executor


def subscription_renderer(context: Any) -> Renderer | None:
    """For a subscription resolver: the renderer of its events as ``next`` payloads (JSON text), shared
    with every subscriber of the same operation, variables, principal and database; None outside one."""
    executor = _subscription.get()
    if executor is None or executor.context_value is not context:
        return None
    key = (id(executor.operation), id(getattr(context, "db", None)), _variables(executor.variable_values), _principal(context))
    actor = getattr(context, "actor", None)
    if actor is None:
        return None
    viewer = Viewer.of(actor)

    async def render(event: Event) -> str | None:
        """The payload of what the viewer may see of this event, or None when that is nothing or not plain
        data (errors): then each subscriber gets the event and filters or executes it itself."""
        shown = visible_event(event, viewer)
        if shown is None:
            return None
        own = cast(
            SharedEventExecution, super(SharedEventExecution, executor).build_per_event_executor(shown)
        )  # not the shared-result cache
        own.per_event = True
        fresh = getattr(context, "for_event", None)
        if fresh is not None:
            own.context_value = fresh()
        result = own.execute_operation(False)
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, ExecutionResult) or result.errors:  # incremental delivery is not shared
            return None
        try:
            return orjson.dumps({"data": result.data}).decode()
        except TypeError:  # orjson.JSONEncodeError: not plain JSON; the usual path knows what to do
            return None

    return Renderer(key, render)
