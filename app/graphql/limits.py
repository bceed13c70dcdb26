"""Query limits: depth, aliases, tokens, page sizes, introspection, and the per-token mutation rate.

Every limit is a setting (see ``app.config.Settings``) with a safe default. Limiters are registered as
zero-argument factories so that no instance (and no ExecutionContext) is shared between requests.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLError,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    visit,
)
from graphql.language import Visitor
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)

from app.config import Settings
from app.errors import ErrorCode
from app.graphql.ratelimit import MutationRateLimiter
from app.graphql.suggestions import CachedValidation, cached_validator

PAGE_ARGUMENTS = frozenset({"first", "last", "limit"})


def refuse(execution_context: Any, message: str, code: ErrorCode, **details: Any) -> None:
    """Answer the operation with one error and skip execution (strawberry skips when a result is set)."""
    error = GraphQLError(message, extensions={"code": code.value, **details})
    execution_context.result = ExecutionResult(data=None, errors=[error])


# (argument name, literal value or None, variable name or None) per page-size argument
PageArguments = tuple[tuple[str, Any, str | None], ...]
# Keyed by the document's identity: AST nodes are frozen dataclasses whose hash walks the whole tree.
_page_arguments: dict[int, tuple[weakref.ref[Any], PageArguments, dict[str, Any]]] = {}


def _page_arguments_of(document: Any) -> tuple[PageArguments, dict[str, Any]]:
    """The document's page-size arguments and variable defaults, found once per parsed document (the
    parser cache hands the same document object to every request that sends the same text)."""
    known = _page_arguments.get(id(document))
    if known is not None and known[0]() is document:
        return known[1], known[2]
    defaults: dict[str, Any] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for var in definition.variable_definitions or ():
                if isinstance(var.default_value, IntValueNode):
                    defaults[var.variable.name.value] = int(var.default_value.value)
    found: list[tuple[str, Any, str | None]] = []

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            for arg in node.arguments or ():
                if arg.name.value in PAGE_ARGUMENTS:
                    value = arg.value
                    found.append(
                        (
                            f"{node.name.value}.{arg.name.value}",
                            int(value.value) if isinstance(value, IntValueNode) else None,
                            value.name.value if isinstance(value, VariableNode) else None,
                        )
                    )

    visit(document, Collect())
    key = id(document)

    def forget(ref: weakref.ref[Any]) -> None:
        if (entry := _page_arguments.get(key)) is not None and entry[0] is ref:
            del _page_arguments[key]

    _page_arguments[key] = (weakref.ref(document, forget), tuple(found), defaults)
    return tuple(found), defaults


def page_sizes(document: Any, variables: dict[str, Any] | None) -> Iterator[tuple[str, Any]]:
    """Every (argument name, value) of a page-size argument anywhere in the document, fragments too."""
    arguments, defaults = _page_arguments_of(document)
    variables = variables or {}
    for name, literal, variable in arguments:
        if variable is None:
            yield name, literal
        else:
            yield name, variables[variable] if variable in variables else defaults.get(variable)


class CachedParse(ParserCache):
    """strawberry's parser cache, but a document that fails to parse (syntax, too many tokens) is left
    to strawberry's own parse step, which turns the error into a result the error masking sees."""

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        with contextlib.suppress(GraphQLError):  # lru_cache keeps no failures, so only bad documents are parsed twice
            ctx.graphql_document = self.cached_parse_document(ctx.query, **ctx.parse_options)
        yield


class PageSizeLimit(SchemaExtension):
    """No list argument ``first``/``last``/``limit`` may ask for more than ``max_page_size`` rows."""

    def __init__(self, max_page_size: int) -> None:
        self.max_page_size = max_page_size

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and ctx.result is None:
            for name, value in page_sizes(ctx.graphql_document, ctx.variables):
                if isinstance(value, int) and not isinstance(value, bool) and value > self.max_page_size:
                    refuse(
                        ctx,
                        f"{name} must be at most {self.max_page_size}; page through longer lists.",
                        ErrorCode.INVALID_INPUT,
                        field=name.split(".")[-1],
                        max=self.max_page_size,
                    )
                    break
        yield


class MutationRateLimit(SchemaExtension):
    """Charges one unit per root mutation field to the token's bucket; an empty bucket is RATE_LIMITED."""

    def __init__(self, limiter: MutationRateLimiter) -> None:
        self.limiter = limiter

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.result is None and ctx.graphql_document is not None:
            try:
                is_mutation = ctx.operation_type.value == OperationType.MUTATION.value  # strawberry's enum, same values
            except RuntimeError:
                is_mutation = False
            actor = getattr(ctx.context, "actor", None)
            if is_mutation and actor is not None:
                cost = _root_field_count(ctx.graphql_document, ctx.operation_name)
                wait = self.limiter.take(_token_key(actor), cost)
                if wait is not None:
                    refuse(
                        ctx,
                        f"Too many changes with this token; retry in {wait:.0f} s.",
                        ErrorCode.RATE_LIMITED,
                        retryAfterSeconds=round(wait, 1),
                    )
        yield


def _token_key(actor: Any) -> str:
    return f"token:{actor.token_id}" if actor.token_id is not None else f"name:{actor.name}"


def _root_field_count(document: Any, operation_name: str | None) -> int:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        ):
            return max(1, len(definition.selection_set.selections))
    return 1


def limit_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """The validation rules of the depth and alias limits in ``settings`` (every way a document is run validates with them)."""
    return [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """The schema extensions that enforce the limits in ``settings`` (factories, one instance per request)."""
    # The limiters' rule classes are made once: a fresh class per request would make every
    # request's rule set different, and the validation cache would never hit.
    rules = limit_rules(settings)
    validator = cached_validator(settings.graphql_cache_size, hide_suggestions=not settings.suggestions)
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: PageSizeLimit(settings.max_page_size),
        lambda: CachedParse(maxsize=settings.graphql_cache_size),
        lambda: CachedValidation(validator),
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    if settings.mutation_rate_per_minute > 0:
        limiter = MutationRateLimiter(settings.mutation_rate_per_minute, settings.mutation_rate_burst)
        extensions.append(lambda: MutationRateLimit(limiter))
    return extensions
