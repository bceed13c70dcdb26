"""How errors reach clients: expected ones keep their code, anything else is masked with an error id."""

from __future__ import annotations

import logging
import uuid

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from app.errors import DomainError

log = logging.getLogger("ordertrack.errors")


def is_expected(error: GraphQLError) -> bool:
    """Domain refusals and GraphQL's own parse/validation errors are safe to show."""
    original = error.original_error
    if original is None:
        return True  # syntax and validation errors carry no internals
    if isinstance(original, DomainError):
        return True
    return isinstance(original, GraphQLError) and original.original_error is None


class MaskUnexpectedErrors(MaskErrors):
    """Replaces unexpected errors by 'Unexpected error.' with code INTERNAL and an id that is in the log."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not is_expected(e))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        error_id = uuid.uuid4().hex[:16]
        log.error(
            "unexpected error %s at %s", error_id, error.path, exc_info=error.original_error
        )
        return GraphQLError(
            message=f"Unexpected error (id {error_id}).",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": "INTERNAL", "errorId": error_id},
        )
