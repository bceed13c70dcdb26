"""The executor: graphql-core's, with a short path for plain leaf fields.

Most of a big response is leaves read straight off a row (``id``, ``state``, ``plannedEnd``, ...).
graphql-core builds a path, a resolve-info tuple and an argument dict for every field, and strawberry
adds its own resolver call on top; for a field with no resolver, arguments, directives or
middleware all of that only ends in ``getattr`` and the scalar's serializer. This executor does just
that for such fields and hands every other field, and any value that is not straightforward (a
missing non-null value, a serializer that refuses it), to graphql-core unchanged, so results and
errors are the same as before.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple, cast

from graphql import GraphQLObjectType, OperationType, get_nullable_type, is_leaf_type, is_non_null_type
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

log = logging.getLogger(__name__)


class PlainLeaf(NamedTuple):
    attribute: str  # the Python attribute strawberry would read
    coerce: Any  # the scalar's or enum's output coercion
    non_null: bool


def plain_leaves(parent_type: GraphQLObjectType) -> dict[str, PlainLeaf]:
    """Field name -> how to read it, for the type's fields that strawberry resolves by attribute access."""
    plan: dict[str, PlainLeaf] | None = parent_type.__dict__.get("_plain_leaves")
    if plan is not None:
        return plan
    plan = {}
    for name, field_def in parent_type.fields.items():
        definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        leaf = get_nullable_type(field_def.type)
        if (
            definition is not None
            and getattr(field_def.resolve, "_is_default", False)  # strawberry's resolver for a field with no resolver
            and definition.is_basic_field
            and definition.default_resolver is getattr  # StrawberryConfig's default: plain attribute access
            and not field_def.args
            and is_leaf_type(leaf)
        ):
            plan[name] = PlainLeaf(definition.python_name, leaf.coerce_output_value, is_non_null_type(field_def.type))
    parent_type._plain_leaves = plan  # type: ignore[attr-defined]  # kept with the type: it lives as long as its schema
    return plan


class _Split(NamedTuple):
    """A selection set divided once per request: plain leaves, and what graphql-core resolves."""

    fields: Any  # the grouped field set itself (held so that its id() is not reused)
    fast: tuple[tuple[str, PlainLeaf, Any], ...]  # (response name, how to read it, field details)
    rest: dict[str, Any]
    names: tuple[str, ...]  # every response name, in the query's order


class FastLeafExecution(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor; plain leaf fields take the short path described above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._splits: dict[int, _Split] = {}

    def execute_root_grouped_field_set(  # graphql-core's (pinned); the read planner answers what it can plan
        self, root_type: GraphQLObjectType, root_value: Any, grouped_field_set: Any, serially: bool, position_context: Any
    ) -> Any:
        ordinary = super().execute_root_grouped_field_set
        services = getattr(self.context_value, "services", None)
        planner = getattr(services, "read_planner", None)
        middleware = self.middleware_manager
        if (
            planner is None
            or serially
            or self.operation.operation is not OperationType.QUERY
            or (middleware is not None and middleware._middleware_resolvers)
        ):
            return ordinary(root_type, root_value, grouped_field_set, serially, position_context)
        run = planner.plan(self, root_type, grouped_field_set)
        if run is None:
            return ordinary(root_type, root_value, grouped_field_set, serially, position_context)

        async def planned() -> Any:
            try:
                return await run(self.context_value.db)
            except Exception:  # an outage or a refusal: the ordinary execution reports it
                log.debug("planned execution failed; executing as usual", exc_info=True)
                result = ordinary(root_type, root_value, grouped_field_set, serially, position_context)
                return await result if self.is_awaitable(result) else result

        return planned()

    def _split(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Split:
        # graphql-core collects a sub-selection once per (type, field nodes), so every object of a
        # list shares one grouped field set: it is divided once, not once per object.
        found = self._splits.get(id(grouped_field_set))
        if found is not None and found.fields is grouped_field_set:
            return found
        plan = plain_leaves(parent_type)
        fast, rest = [], {}
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            leaf = plan.get(node.name.value)
            if leaf is not None and not node.arguments and not node.directives:
                fast.append((response_name, leaf, field_details_list))
            else:
                rest[response_name] = field_details_list
        split = _Split(grouped_field_set, tuple(fast), rest, tuple(grouped_field_set))
        self._splits[id(grouped_field_set)] = split
        return split

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        middleware = self.middleware_manager
        if middleware is not None and middleware._middleware_resolvers:  # a `resolve` hook must see every field
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        split = self._split(parent_type, grouped_field_set)
        if not split.fast:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        rest = split.rest
        for response_name, leaf, field_details_list in split.fast:
            try:
                value = getattr(source_value, leaf.attribute)
                if value is None:
                    if not leaf.non_null:
                        results[response_name] = None
                        continue
                else:
                    coerced = leaf.coerce(value)
                    if coerced is not None and coerced is not Undefined:
                        results[response_name] = coerced
                        continue
            except Exception:  # noqa: BLE001  graphql-core runs the field again and reports the error
                pass
            if rest is split.rest:
                rest = dict(rest)
            rest[response_name] = field_details_list
        if not rest:
            return results
        completed = super().execute_fields(parent_type, source_value, path, rest, position_context)
        if self.is_awaitable(completed):

            async def merge() -> dict[str, Any]:
                return _in_order(split.names, results, await completed)

            return merge()
        return _in_order(split.names, results, cast(dict[str, Any], completed))  # not awaitable: a dict


def _in_order(names: tuple[str, ...], fast: dict[str, Any], slow: dict[str, Any]) -> dict[str, Any]:
    """Both halves in the order the query asked for them (JSON keys keep the selection's order)."""
    if not fast:
        return slow
    return {name: fast[name] if name in fast else slow[name] for name in names if name in fast or name in slow}


def lean_resolvers(schema: Any) -> int:
    """Call argument-less resolvers of nested fields directly, without strawberry's per-call wrapping.

    strawberry wraps every resolver in a chain that converts arguments, applies field extensions
    and exception handlers; a field with none of those (no arguments, no permission classes, no
    extensions) only needs its function called with the source and an ``Info``. Returns how many
    fields were changed.
    """
    converter = schema.schema_converter
    if converter._exception_handler_specs:  # handlers need strawberry's wrapper
        return 0
    core = schema._schema
    roots = {t for t in (core.query_type, core.mutation_type, core.subscription_type) if t is not None}
    info_class = schema.config.info_class
    changed = 0
    for graphql_type in core.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type in roots or graphql_type.name.startswith("__"):
            continue
        for field_def in graphql_type.fields.values():
            definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            resolver = getattr(definition, "base_resolver", None)
            wrapper = getattr(field_def.resolve, "__qualname__", "")
            if (
                definition is None
                or resolver is None
                or definition.extensions
                or definition.arguments
                or field_def.args
                or not wrapper.startswith("GraphQLCoreConverter.from_resolver.")
            ):
                continue
            field_def.resolve = _direct(resolver, definition, info_class)
            changed += 1
    return changed


def _direct(resolver: Any, definition: Any, info_class: Any) -> Any:
    """``resolver`` called as strawberry would call it for a field without arguments."""
    takes_self = resolver.self_parameter is not None
    named = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None

    def resolve(source: Any, info: Any) -> Any:
        kwargs = dict.fromkeys(named, source)
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=definition)
        return resolver.wrapped_func(source, **kwargs) if takes_self else resolver.wrapped_func(**kwargs)

    return resolve
