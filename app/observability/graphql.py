"""The GraphQL extension that counts operations, their latency and the error codes they return."""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import OperationType
from strawberry.extensions import SchemaExtension

from app.observability import metrics
from app.observability.logs import current_request


def count_operation(name: str, kind: str, seconds: float) -> None:
    """One answered operation (``name`` a label from ``metrics.operation_label``): its log line's name, count and latency."""
    info = current_request.get()
    if info is not None:
        info.operation = name
    metrics.GRAPHQL_REQUESTS.labels(operation=name, type=kind).inc()
    metrics.GRAPHQL_LATENCY.labels(operation=name).observe(seconds)


class OperationMetrics(SchemaExtension):
    """Listed first, so it sees the errors after masking (extension exits run in reverse order)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        name = metrics.operation_label(ctx.operation_name)
        try:
            kind = ctx.operation_type.value
        except (RuntimeError, AttributeError, TypeError):
            kind = "invalid"
        if kind == OperationType.SUBSCRIPTION.value:
            return  # a subscription's life is not a request; realtime keeps its own numbers
        count_operation(name, kind, time.perf_counter() - started)
        result = ctx.result
        for error in getattr(result, "errors", None) or ():
            code = (error.extensions or {}).get("code") or "UNKNOWN"
            metrics.ERRORS.labels(code=str(code)).inc()
