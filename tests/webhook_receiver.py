"""A real HTTP endpoint for webhook tests: uvicorn on 127.0.0.1, told how to answer, recording every request."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook as Verifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.launcher import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered (0: it never answered)

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> Any:
        """The payload, checked by the reference Standard Webhooks implementation (raises when the signature is wrong)."""
        return Verifier(secret).verify(self.body, self.headers)


Answer = Callable[[Received], "int | float"]  # a status, or seconds to hang before answering 200


@dataclass
class Receiver:
    """Answers 2xx by default; ``script`` gives the answers for the next requests (a status, or a hang in seconds)."""

    port: int = field(default_factory=free_port)
    script: list[int | float] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    hold: asyncio.Event | None = None  # when set: requests wait here before being answered
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def delivered(self) -> list[Received]:
        """Requests answered 2xx."""
        return [r for r in self.requests if 200 <= r.status < 300]

    async def _hook(self, request: Request) -> Response:
        got = Received(headers={k.lower(): v for k, v in request.headers.items()}, body=await request.body(), status=0)
        answer = self.script.pop(0) if self.script else 200
        async with self._changed:
            self.requests.append(got)
            self._changed.notify_all()
        if self.hold is not None:
            await self.hold.wait()
        if isinstance(answer, float):
            await asyncio.sleep(answer)  # longer than the sender's read timeout: it gives up first
            answer = 200
        got.status = int(answer)
        async with self._changed:
            self._changed.notify_all()
        return Response(status_code=got.status)

    async def start(self) -> Receiver:
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                await self._task
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._server = self._task = None

    async def wait_for(self, check: Callable[[Receiver], bool], timeout: float = 20.0, what: str = "requests") -> None:
        """Until ``check(self)`` holds (re-checked on every request and answer), at most ``timeout`` seconds."""

        async def until() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: check(self))

        try:
            await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}; got {[(r.message_id, r.status) for r in self.requests]}"
            ) from None

    async def wait_delivered(self, n: int, timeout: float = 20.0) -> list[Received]:
        await self.wait_for(lambda r: len(r.delivered) >= n, timeout, f"{n} delivered requests")
        return self.delivered


def port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0
