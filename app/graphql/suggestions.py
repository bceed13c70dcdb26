"""Turning off "Did you mean …?" hints, which name fields, arguments, enum values, input fields and
types to whoever sends a near miss, introspection or not.

graphql-core (3.3) can leave them out of every message it makes, with ``hide_suggestions`` on
``validate`` (field, argument, type and enum-literal hints) and on execution (variable values:
input fields, enum values). strawberry passes neither, so the schema gets a validation step and an
execution context class that do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

Validator = Callable[[Any, Any, tuple[Any, ...]], list[GraphQLError]]


def cached_validator(maxsize: int, *, hide_suggestions: bool) -> Validator:
    """strawberry's document validation (its two extra rules included), cached like ValidationCache."""

    def run(schema: Any, document: Any, rules: tuple[Any, ...]) -> list[GraphQLError]:
        return validate(
            schema, document, (*rules, MaybeNullValidationRule, OneOfInputValidationRule), hide_suggestions=hide_suggestions
        )

    return lru_cache(maxsize=maxsize)(run)


class CachedValidation(SchemaExtension):
    """The validation step: cached, and without suggestions when the validator hides them."""

    def __init__(self, validator: Validator) -> None:
        self.validator = validator

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.pre_execution_errors is None and ctx.graphql_document is not None:
            ctx.pre_execution_errors = self.validator(ctx.schema._schema, ctx.graphql_document, tuple(ctx.validation_rules))
        yield


def without_suggestions(execution_class: type[Any]) -> type[Any]:
    """``execution_class`` building every execution with ``hide_suggestions`` (variable coercion errors)."""

    class WithoutSuggestions(execution_class):
        @classmethod
        def build(cls, *args: Any, **kwargs: Any) -> Any:
            kwargs["hide_suggestions"] = True
            return super().build(*args, **kwargs)

    WithoutSuggestions.__name__ = WithoutSuggestions.__qualname__ = f"{execution_class.__name__}WithoutSuggestions"
    return WithoutSuggestions
