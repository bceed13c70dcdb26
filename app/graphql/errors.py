"""How errors reach clients: expected ones keep their code, anything else is masked with an error id.

Every error leaves with an ``extensions.code``. Unexpected ones (a bug, a database error that is not
an outage) become ``INTERNAL`` with an ``errorId`` and the ``requestId``; the full exception is logged
under both ids, and nothing of it (message, SQL, stack, file names) goes to the client.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from app.errors import DomainError, ErrorCode
from app.observability.logs import request_id

log = logging.getLogger("ordertrack.errors")

_TOO_COMPLEX = ("exceeds maximum operation depth", "aliases found. allowed", "tokens. parsing aborted")


def is_expected(error: GraphQLError) -> bool:
    """Domain refusals and GraphQL's own parse/validation errors are safe to show."""
    original = error.original_error
    if original is None:
        return True  # syntax and validation errors carry no internals
    if isinstance(original, DomainError):
        return True
    if isinstance(original, GraphQLError) and original.original_error is None:
        return True
    # A client's value a scalar could not parse ("Variable '$d' has invalid value: ...").
    return error.path is None and error.message.startswith("Variable '$") and isinstance(original, (ValueError, TypeError))


def code_for(error: GraphQLError) -> str:
    """The code of an expected error that has none of its own."""
    message = error.message
    if any(s in message.lower() for s in _TOO_COMPLEX):
        return ErrorCode.QUERY_TOO_COMPLEX.value
    if message.startswith("Syntax Error"):
        return ErrorCode.GRAPHQL_PARSE_FAILED.value
    if message.startswith("Variable '$") or "cannot represent" in message or "nested too deeply" in message:
        return ErrorCode.INVALID_INPUT.value
    return ErrorCode.GRAPHQL_VALIDATION_FAILED.value


def with_code(error: GraphQLError) -> GraphQLError:
    """Give an expected error without a code the one that fits it."""
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code_for(error)}
    return error


def anonymise(error: GraphQLError) -> GraphQLError:
    """'Unexpected error (id …)' with code INTERNAL; the exception is logged under the error and request ids."""
    error_id = uuid.uuid4().hex[:16]
    req = request_id()
    original = error.original_error
    log.error(
        "unexpected error %s at %s (request %s)",
        error_id,
        error.path,
        req,
        exc_info=(type(original), original, original.__traceback__) if original else None,
        extra={"error_id": error_id, "request_id": req},
    )
    extensions = {"code": ErrorCode.INTERNAL.value, "errorId": error_id}
    if req:
        extensions["requestId"] = req
    return GraphQLError(
        message=f"Unexpected error (id {error_id}).",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def finalize_errors(errors: list[GraphQLError]) -> list[GraphQLError]:
    """The last word before errors leave over HTTP: mask what is unexpected, give every error a code.

    Needed besides the extension: an exception raised inside an extension hook (a parse error from
    ParserCache's ``on_parse``) leaves the operation before any extension sees the result.
    """
    return [with_code(e) if is_expected(e) else anonymise(e) for e in errors]


class MaskUnexpectedErrors(MaskErrors):
    """Replaces unexpected errors by 'Unexpected error.' with code INTERNAL and an id that is in the log."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not is_expected(e))

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [with_code(e) for e in super()._process_errors(errors)]

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return anonymise(error)


class QuietSchema(strawberry.Schema):
    """Refusals are answers, not server errors: only MaskUnexpectedErrors logs (unexpected ones, with ids).

    ``subscribe`` runs queries and mutations too (each answers once, then completes), as ``stream``
    does: strawberry's legacy graphql-ws handler calls it for every ``start``, and that protocol
    carries all three operation types.
    """

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None

    async def subscribe(  # noqa: PLR0913
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> Any:
        return await self.stream(
            query, variable_values=variable_values, context_value=context_value, root_value=root_value,
            operation_name=operation_name, operation_extensions=operation_extensions,
        )
