"""A direct lane for hot, idempotent, single-field mutations: same answers, without per-request execution.

strawberry's execution (extension hooks, argument conversion, the executor) costs more CPU than a
partner's progress report itself. A domain may register a *quick* resolver for a root mutation field:
``quick(context, arguments) -> result | None`` with the arguments coerced by graphql-core under their
GraphQL names. A request takes the lane only when

- its document (planned once per query text) is valid under the schema's own limit rules
  (``graphql/limits.limit_rules``) and is exactly one mutation with that one field, and a selection
  of plain leaf fields of the result (no fragments, directives, arguments, custom resolvers, field
  permissions or nested objects; ``__typename`` is fine);
- it is an HTTP POST of one operation, and its variables coerce without errors;
- the quick resolver returns a result. It checks who may act itself, and returns None for anything it
  does not handle plainly.

Every other case, including any exception on the lane, runs through strawberry as usual, which gives
the exact answer or error. So a quick resolver must be safe to run again: the registered ones are
idempotent partner writes (same key and request: the first result). Its answers are counted by the
same ``observability.graphql.count_operation`` as strawberry's. It is off with ``DIRECT_LANE=false``
and while a mutation rate limit is on (``graphql/schema.direct_mutations``): that limit is a
strawberry extension it would bypass. ``tests/test_direct_lane_paths.py`` sends the same random
requests to an app with the lane and one without, on twin databases, and holds every answer, row
and event to be the same.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    is_leaf_type,
    is_object_type,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.validation import ASTValidationRule
from strawberry.types import ExecutionResult

from app.observability import metrics
from app.observability.graphql import count_operation

log = logging.getLogger(__name__)

QuickResolver = Callable[[Any, dict[str, Any]], Awaitable[Any | None]]
_UNKNOWN = object()


@dataclass(frozen=True)
class Plan:
    """What a document asks for, worked out once: the field, its quick resolver, the leaves to answer."""

    operation: OperationDefinitionNode
    field_node: FieldNode
    field_def: Any
    quick: QuickResolver
    response_key: str
    type_name: str
    leaves: tuple[tuple[str, str | None, Callable[[Any], Any] | None], ...]  # (key, attribute, serialize)
    label: str


class DirectLane:
    def __init__(
        self,
        schema: Any,
        quick: dict[str, QuickResolver],
        *,
        max_tokens: int,
        rules: Sequence[type[ASTValidationRule]],
        cache_size: int = 256,
    ) -> None:
        self.schema = schema
        self.quick = quick
        self.max_tokens = max_tokens
        self.rules = (*specified_rules, *rules)  # the schema's limits (``graphql/limits.py``), as strawberry validates
        self.cache_size = cache_size
        self._plans: OrderedDict[str, Plan | None] = OrderedDict()

    async def execute(self, method: str, request_data: Any, context: Any) -> ExecutionResult | None:
        """The answer, or None: run the request through strawberry."""
        if not self.quick or method != "POST" or getattr(request_data, "protocol", "http") != "http":
            return None
        query = request_data.query
        if (
            not isinstance(query, str)
            or getattr(context, "auth_error", None) is not None
            or getattr(context, "actor", None) is None
        ):
            return None
        plan = self._plan(query)
        if plan is None or (request_data.operation_name is not None and request_data.operation_name != _name(plan.operation)):
            return None
        started = time.perf_counter()
        try:
            variables = get_variable_values(
                self.schema._schema, plan.operation.variable_definitions or (), request_data.variables or {}
            )
            if isinstance(variables, list):
                return None
            arguments = get_argument_values(plan.field_def, plan.field_node, variables)
            result = await plan.quick(context, arguments)
            if result is None:
                return None
            data = {plan.response_key: self._leaves(plan, result)}
        except Exception:
            log.debug("direct lane gave way to normal execution", exc_info=True)
            return None
        count_operation(plan.label, OperationType.MUTATION.value, time.perf_counter() - started)
        return ExecutionResult(data=data, errors=None)

    @staticmethod
    def _leaves(plan: Plan, result: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, attribute, serialize in plan.leaves:
            if attribute is None:
                out[key] = plan.type_name
                continue
            value = getattr(result, attribute)
            out[key] = None if value is None or serialize is None else serialize(value)
        return out

    def _plan(self, query: str) -> Plan | None:
        plan = self._plans.get(query, _UNKNOWN)
        if plan is not _UNKNOWN:
            self._plans.move_to_end(query)
            return plan  # type: ignore[return-value]  # not the _UNKNOWN sentinel: a Plan or None
        if not any(name in query for name in self.quick):
            return None  # most documents: not parsed or remembered here
        try:
            plan = self._make_plan(query)
        except GraphQLError:
            plan = None
        self._plans[query] = plan
        while len(self._plans) > self.cache_size:
            self._plans.popitem(last=False)
        return plan

    def _make_plan(self, query: str) -> Plan | None:
        document = parse(query, max_tokens=self.max_tokens)
        if len(document.definitions) != 1 or validate(self.schema._schema, document, self.rules):
            return None
        (operation,) = document.definitions
        if not isinstance(operation, OperationDefinitionNode) or operation.operation is not OperationType.MUTATION:
            return None
        if operation.directives or any(v.directives for v in operation.variable_definitions or ()):
            return None
        selections = operation.selection_set.selections
        if len(selections) != 1 or not isinstance(selections[0], FieldNode):
            return None
        field_node = selections[0]
        quick = self.quick.get(field_node.name.value)
        mutation_type = self.schema._schema.mutation_type
        if quick is None or field_node.directives or field_node.selection_set is None or mutation_type is None:
            return None
        field_def = mutation_type.fields[field_node.name.value]
        result_type = get_named_type(field_def.type)
        definition = self.schema.get_type_by_name(result_type.name)
        if not is_object_type(result_type) or definition is None:
            return None
        plain = {
            self.schema.config.name_converter.get_graphql_name(f): f.python_name
            for f in definition.fields
            if f.base_resolver is None and not f.permission_classes and not f.extensions
        }
        leaves: list[tuple[str, str | None, Callable[[Any], Any] | None]] = []
        children = field_node.selection_set.selections
        for child in children:
            if not isinstance(child, FieldNode) or child.directives or child.arguments or child.selection_set is not None:
                return None
            key = child.alias.value if child.alias else child.name.value
            if child.name.value == "__typename":
                leaves.append((key, None, None))
                continue
            attribute = plain.get(child.name.value)
            leaf = get_named_type(result_type.fields[child.name.value].type)
            if attribute is None or not is_leaf_type(leaf):
                return None
            leaves.append((key, attribute, leaf.serialize))
        return Plan(
            operation=operation,
            field_node=field_node,
            field_def=field_def,
            quick=quick,
            response_key=field_node.alias.value if field_node.alias else field_node.name.value,
            type_name=result_type.name,
            leaves=tuple(leaves),
            label=metrics.operation_label(_name(operation)),
        )


def _name(operation: OperationDefinitionNode) -> str | None:
    return operation.name.value if operation.name else None
