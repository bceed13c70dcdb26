"""What a websocket message must look like before a protocol handler acts on it.

strawberry's handlers index into messages as the protocols describe them; a message of another shape
(a list, a ``payload`` that is a string, a numeric ``id``) raises inside the handler and drops the
socket without a close frame. These checks find such messages first, so that the handler can close
the socket with 4400 and a reason instead, as graphql-transport-ws prescribes for invalid messages.
"""

from __future__ import annotations

from typing import Any

INVALID = 4400  # the close code for an invalid message (graphql-transport-ws; used for legacy graphql-ws too)
TRY_AGAIN_LATER = 1013  # RFC 6455's code for a server that cannot serve now (an outage at connection_init)

TRANSPORT_WS_TYPES = frozenset({"connection_init", "ping", "pong", "subscribe", "complete"})
LEGACY_WS_TYPES = frozenset({"connection_init", "connection_terminate", "start", "stop"})
_OPTIONAL = {"variables": dict, "operationName": str, "extensions": dict}


def _operation_payload_problem(payload: Any) -> str | None:
    """What is wrong with a ``subscribe``/``start`` payload, or None."""
    if not isinstance(payload, dict):
        return "The payload must be an object."
    query = payload.get("query")
    if query is not None and not isinstance(query, str):
        return "payload.query must be a string."
    if query is None and not isinstance(payload.get("extensions"), dict):
        return "The payload needs a query (or a persistedQuery extension)."
    for name, kind in _OPTIONAL.items():
        if payload.get(name) is not None and not isinstance(payload[name], kind):
            return f"payload.{name} must be {'an object' if kind is dict else 'a string'}."
    return None


def _id_problem(message: dict[str, Any]) -> str | None:
    operation_id = message.get("id")
    if not isinstance(operation_id, str) or not operation_id:
        return "The id must be a non-empty string."
    return None


def problem(message: object, *, legacy: bool) -> str | None:
    """Why ``message`` is not a valid message of its protocol (graphql-ws when ``legacy``), or None."""
    if not isinstance(message, dict):
        return "A message must be a JSON object."
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in (LEGACY_WS_TYPES if legacy else TRANSPORT_WS_TYPES):
        return f"Unknown message type: {str(kind)[:40]}"
    if kind in ("subscribe", "start"):
        return _id_problem(message) or _operation_payload_problem(message.get("payload"))
    if kind in ("complete", "stop"):
        return _id_problem(message)
    if (
        kind in ("connection_init", "ping", "pong")
        and message.get("payload") is not None
        and not isinstance(message["payload"], dict)
    ):
        return "The payload must be an object."
    return None
