"""ASGI middleware: request ids, security headers and access logs, HTTP metrics, the body size cap
and read timeout, a last-resort 500.

Plain ASGI (no BaseHTTPMiddleware), so the request runs in one task and the request id set here is
seen by everything that logs while serving it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ErrorCode
from app.graphql.errors import refusal_for, report_unexpected
from app.observability import metrics
from app.observability.logs import RequestInfo, current_request, new_request_id

log = logging.getLogger("ordertrack.http")

KNOWN_PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})

# On every HTTP response. No script policy: GraphiQL and the dashboard pages load their own scripts.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
# Production only: the service is then expected behind TLS.
HSTS = (b"strict-transport-security", b"max-age=31536000")


def error_body(message: str, code: ErrorCode, **extensions: Any) -> bytes:
    """A GraphQL-shaped error document, for refusals made before GraphQL sees the request."""
    return json.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code.value, **extensions}}]}).encode()


async def send_json(
    send: Send, status: int, body: bytes, request_id: str | None = None, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(extra or [])]
    if request_id:
        headers.append((b"x-request-id", request_id.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    """Raised from ``receive`` when the body grows past the cap."""


class BodyTooSlow(Exception):
    """Raised from ``receive`` when the next part of the body does not arrive in time."""


class RequestContext:
    """Request id (X-Request-ID in and out), security headers, one JSON access log line, HTTP metrics, masked 500s."""

    def __init__(self, app: ASGIApp, production: bool = False) -> None:
        self.app = app
        self.headers = [*SECURITY_HEADERS, *((HSTS,) if production else ())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        offered = headers.get(b"x-request-id", b"").decode("latin-1")
        info = RequestInfo(request_id=new_request_id(offered))
        token = current_request.set(info)
        started = time.perf_counter()
        status = {"code": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", []), *self.headers, (b"x-request-id", info.request_id.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        except Exception as exc:
            if scope["type"] != "http" or status["code"]:
                raise
            refusal = refusal_for(exc, scope.get("path"))  # an outage before GraphQL ran (the token lookup, /readyz)
            if refusal is not None:
                status["code"] = 503 if refusal.code is ErrorCode.UNAVAILABLE else 400
                body = error_body(refusal.message, refusal.code, **refusal.details)
            else:
                status["code"] = 500
                extensions = report_unexpected(exc, scope.get("path"))
                body = error_body(
                    f"Unexpected error (id {extensions['errorId']}).",
                    ErrorCode.INTERNAL,
                    **{k: v for k, v in extensions.items() if k != "code"},
                )
            await send_json(send, status["code"], body, info.request_id, self.headers)
        finally:
            if scope["type"] == "http":
                path = scope.get("path", "")
                metrics.HTTP_REQUESTS.labels(path=path if path in KNOWN_PATHS else "other", status=str(status["code"])).inc()
                if path != "/metrics":
                    log.info(
                        "%s %s %s",
                        scope.get("method"),
                        path,
                        status["code"],
                        extra={"status": status["code"], "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
                    )
            current_request.reset(token)


class BodySizeLimit:
    """Refuse HTTP request bodies over ``max_bytes`` with 413 and a JSON error (code PAYLOAD_TOO_LARGE),
    and bodies that take longer than ``read_timeout`` seconds to arrive, whole, with 408: a client
    trickling its body would otherwise hold a connection and a task for as long as it likes."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(send)
                return
        received = 0
        started = False
        body_done = False
        deadline: float | None = None

        async def counting_receive() -> Message:
            nonlocal received, body_done, deadline
            if body_done or self.read_timeout is None:
                message = await receive()  # after the body only http.disconnect comes: no deadline on that wait
            else:
                if deadline is None:
                    deadline = asyncio.get_running_loop().time() + self.read_timeout
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    raise BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(send)
        except BodyTooSlow:
            if started:
                raise
            metrics.ERRORS.labels(code=ErrorCode.REQUEST_TIMEOUT.value).inc()
            body = error_body(
                f"The request body did not arrive within {self.read_timeout:g} s.",
                ErrorCode.REQUEST_TIMEOUT,
                timeoutSeconds=self.read_timeout,
            )
            await send_json(send, 408, body, extra=[(b"connection", b"close")])

    async def _refuse(self, send: Send) -> None:
        metrics.ERRORS.labels(code=ErrorCode.PAYLOAD_TOO_LARGE.value).inc()
        body = error_body(
            f"The request body is larger than {self.max_bytes} bytes.", ErrorCode.PAYLOAD_TOO_LARGE, maxBytes=self.max_bytes
        )
        await send_json(send, 413, body)  # RequestContext (outside) adds X-Request-ID
