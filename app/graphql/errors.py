"""How errors reach clients: expected ones keep their code, outages are UNAVAILABLE, anything else is
masked with an error id. The one shaper of errors, for GraphQL (``shape``) and for the HTTP layer
around it (``refusal_for``, ``report_unexpected``).

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

from app.errors import DomainError, ErrorCode, Unavailable
from app.observability.logs import request_id
from app.outages import MESSAGE as OUTAGE_MESSAGE, is_outage

log = logging.getLogger("ordertrack.errors")

_TOO_COMPLEX = ("exceeds maximum operation depth", "aliases found. allowed", "tokens. parsing aborted")


def _is_safe(error: GraphQLError) -> bool:
    """Domain refusals and GraphQL's own parse/validation errors are safe to show as they are."""
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


def report_unexpected(exc: BaseException | None, where: object = None) -> dict[str, str]:
    """Log an unexpected failure at ERROR under a new error id and the request id; the extensions
    (code INTERNAL, errorId, requestId) a client gets instead of it."""
    error_id = uuid.uuid4().hex[:16]
    req = request_id()
    log.error(
        "unexpected error %s at %s (request %s)",
        error_id,
        where,
        req,
        exc_info=(type(exc), exc, exc.__traceback__) if exc else None,
        extra={"error_id": error_id, "request_id": req},
    )
    extensions = {"code": ErrorCode.INTERNAL.value, "errorId": error_id}
    if req:
        extensions["requestId"] = req
    return extensions


def report_outage(exc: BaseException, where: object = None) -> Unavailable:
    """One WARNING line (no traceback: nothing is wrong with the code) and the refusal to answer with."""
    log.warning("database unreachable at %s: %s", where, type(exc).__name__, extra={"request_id": request_id()})
    return Unavailable(OUTAGE_MESSAGE)


def refusal_for(exc: BaseException, where: object = None) -> DomainError | None:
    """What an exception answers as: itself if a refusal, UNAVAILABLE if an outage, None if unexpected."""
    if isinstance(exc, DomainError):
        return exc
    if is_outage(exc):
        return report_outage(exc, where)
    return None


def anonymise(error: GraphQLError) -> GraphQLError:
    """'Unexpected error (id …)' with code INTERNAL; the exception is logged under the error and request ids."""
    extensions = report_unexpected(error.original_error, error.path)
    return _replaced(error, f"Unexpected error (id {extensions['errorId']}).", extensions)


def _replaced(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def shape(error: GraphQLError) -> GraphQLError:
    """The one shaping of a GraphQL error before it leaves: a refusal keeps its code (or gets the one
    that fits), an outage becomes UNAVAILABLE, anything else is masked as INTERNAL with an error id."""
    if _is_safe(error):
        return with_code(error)
    assert error.original_error is not None
    refusal = refusal_for(error.original_error, error.path)
    if refusal is not None:
        return _replaced(error, refusal.message, refusal.extensions)
    return anonymise(error)


def finalize_errors(errors: list[GraphQLError]) -> list[GraphQLError]:
    """The last word before errors leave over HTTP (the same shaping; shaped errors stay as they are).

    Needed besides the extension: an exception raised inside an extension hook (a parse error from
    ParserCache's ``on_parse``) leaves the operation before any extension sees the result.
    """
    return [shape(e) for e in errors]


class MaskUnexpectedErrors(MaskErrors):
    """strawberry's MaskErrors with ``shape`` as its masking: every error leaves with a code, and
    unexpected ones as 'Unexpected error (id …)' with code INTERNAL and an id that is in the log."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda _: True)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return shape(error)


class QuietSchema(strawberry.Schema):
    """Refusals are answers, not server errors: only MaskUnexpectedErrors logs (unexpected ones, with ids).

    ``subscribe`` runs queries and mutations too (each answers once, then completes), as ``stream``
    does: strawberry's legacy graphql-ws handler calls it for every ``start``, and that protocol
    carries all three operation types.
    """

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None

    async def subscribe(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> Any:
        return await self.stream(
            query,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
        )
