"""One execution of a subscription's selection per event, shared by every subscriber that asked the same.

graphql-core executes a subscription's selection set once per event per subscriber. Dashboards
subscribe with identical documents, so with thousands of them the same few fields are resolved
thousands of times per event. Subscribers with the same operation (the parser cache hands out one
document object per query text), the same variables, principal and database get the result of the
first execution of that event; only error-free, synchronous results are shared.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from typing import Any

import orjson

from app.graphql.execution import FastLeafExecution

MAX_SHARED = 4096
_results: OrderedDict[tuple[Any, ...], tuple[Any, Any, Any]] = OrderedDict()


def _principal(context: Any) -> tuple[Any, ...]:
    actor = getattr(context, "actor", None)
    return (actor.role.value, actor.party_id, actor.name) if actor is not None else (None, None, None)


def _variables(values: Any) -> bytes:
    try:
        return orjson.dumps(getattr(values, "coerced", values) or {}, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:
        return repr(values).encode()


class SharedEventExecution(FastLeafExecution):
    """The schema's executor: queries run as before; subscription events share their execution."""

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
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

        executor.execute_operation = execute_operation  # type: ignore[method-assign]
        return executor
