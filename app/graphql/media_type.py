"""GraphQL over HTTP's two response media types, chosen by the client's Accept header.

``application/json`` (what clients get when they ask for it, send ``*/*`` or no Accept header):
every well-formed request is answered with 200, a request error with ``{"data": null, "errors"}``.
``application/graphql-response+json`` (when the client prefers it): a request error (the document
does not parse or validate, a variable cannot be coerced, the request is refused before execution)
is answered with a 4xx/5xx status and no ``data`` entry; once execution began the answer is 200.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from starlette.responses import Response, StreamingResponse

from app.errors import ErrorCode

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
_JSON_RANGES = {JSON: 3, "application/*": 2, "*/*": 1}  # more specific ranges win (RFC 9110 12.5.1)
_SCOPE_KEY = "ordertrack.request_error_status"
_STATUS_BY_CODE = {ErrorCode.UNAVAILABLE.value: 503, ErrorCode.RATE_LIMITED.value: 429, ErrorCode.PAYLOAD_TOO_LARGE.value: 413}


def _q(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def preferred_media_type(accept: str | None) -> str:
    """``application/graphql-response+json`` when the Accept header prefers it, else ``application/json``."""
    if not accept:
        return JSON
    graphql_q: float | None = None
    json_q, json_rank = 0.0, 0
    for entry in accept.split(","):
        media, *params = entry.split(";")
        media = media.strip().lower()
        if media == GRAPHQL_RESPONSE_JSON:
            graphql_q = _q(params) if graphql_q is None else max(graphql_q, _q(params))
        elif (rank := _JSON_RANGES.get(media, 0)) > json_rank:
            json_q, json_rank = _q(params), rank
    if graphql_q is None or graphql_q == 0:
        return JSON
    return GRAPHQL_RESPONSE_JSON if graphql_q >= json_q else JSON


def request_error_status(errors: list[GraphQLError] | None, data: object) -> int | None:
    """The status of a request error (no data and no error from a field), or None when execution ran."""
    if data is not None or not errors or any(error.path is not None for error in errors):
        return None
    codes = {(error.extensions or {}).get("code") for error in errors}
    return next((status for code, status in _STATUS_BY_CODE.items() if code in codes), 400)


class MediaTypeView:
    """Mixed into the strawberry view: answers in the media type the client prefers."""

    async def process_result(self, request: Any, result: Any) -> Any:
        response = await super().process_result(request, result)  # type: ignore[misc]  # a mixin: the view is next
        if not isinstance(response, dict):  # an answer from the response cache: error-free, already encoded
            return response
        status = request_error_status(getattr(result, "errors", None), response.get("data"))
        statuses = request.scope.setdefault(_SCOPE_KEY, [])
        statuses.append(status)
        if status is not None and preferred_media_type(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON:
            response.pop("data", None)
        return response

    async def run(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = await super().run(request, *args, **kwargs)  # type: ignore[misc]  # a mixin: the view is next
        scope = getattr(request, "scope", None)
        if (
            scope is None
            or scope.get("type") != "http"
            or not isinstance(response, Response)
            or isinstance(response, StreamingResponse)
            or _SCOPE_KEY not in scope  # not a GraphQL result (the IDE, a refused request)
            or preferred_media_type(request.headers.get("accept")) != GRAPHQL_RESPONSE_JSON
        ):
            return response
        response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        statuses = scope[_SCOPE_KEY]
        if len(statuses) == 1 and statuses[0] is not None and response.status_code == 200:
            response.status_code = statuses[0]
        return response
