"""The websocket send that fan-out uses reads uvicorn internals: when one is missing (a uvicorn or
websockets release renamed it), every dashboard of the group still gets every event, by the ordinary
send, and none is closed."""

from __future__ import annotations

import logging
import types

import pytest

from app.auth import Role
from app.realtime import ws_protocol
from app.realtime.ws_protocol import WebSocketProtocol
from tests.factories import create_order
from tests.live import LEGACY_WS, TRANSPORT_WS, subscribe
from tests.test_live_subscriptions import MATCHING, Live, live  # noqa: F401  the fixture


@pytest.fixture(autouse=True)
def fresh_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with send_now on (the guard turns it off for the whole process)."""
    monkeypatch.setattr(WebSocketProtocol, "incompatible", None)


async def test_a_missing_internal_in_send_now_falls_back_to_the_ordinary_send_for_every_member(
    live: Live,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "wall")
    attempts: list[bool] = []
    send_now = WebSocketProtocol.send_now

    def observed(self: WebSocketProtocol, text: bytes) -> bool:
        attempts.append(sent := send_now(self, text))
        return sent

    monkeypatch.setattr(WebSocketProtocol, "send_now", observed)
    # websockets without State.OPEN: only send_now reads it through this module, uvicorn's own send does not.
    monkeypatch.setattr(ws_protocol, "State", types.SimpleNamespace())
    walls = [
        await subscribe(live.address, token, MATCHING, {"filter": {}}, protocol=(TRANSPORT_WS, LEGACY_WS)[n % 2])
        for n in range(4)
    ]
    try:
        with caplog.at_level(logging.WARNING, logger="ordertrack.realtime"):
            for n in range(3):
                await live.note(staff, order["id"], f"note {n}")
            for wall in walls:
                assert [e["after"]["text"] for e in await wall.wait_for(3)] == ["note 0", "note 1", "note 2"]
        assert attempts and not any(attempts), "send_now was tried and gave way every time"
        assert WebSocketProtocol.incompatible is not None and "AttributeError" in WebSocketProtocol.incompatible
        assert [r.message for r in caplog.records if "send_now is off" in r.message], "the fallback is logged"
        assert all(not wall.ended.is_set() and wall.failure is None and not wall.errors for wall in walls), "no member closed"
        assert live.app.state.ordertrack.services.bus.subscriber_count == 4
    finally:
        for wall in walls:
            await wall.close()


async def test_a_protocol_without_an_internal_send_now_needs_is_not_offered_send_now(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "wall")
    monkeypatch.setattr(ws_protocol, "PRIVATE_ATTRIBUTES", (*ws_protocol.PRIVATE_ATTRIBUTES, "renamed_in_a_new_release"))
    called: list[bytes] = []

    def send_now_refused(self: WebSocketProtocol, text: bytes) -> bool:
        called.append(text)
        return False

    monkeypatch.setattr(WebSocketProtocol, "send_now", send_now_refused)
    wall = await subscribe(live.address, token, MATCHING, {"filter": {}})
    try:
        await live.note(staff, order["id"], "delivered the ordinary way")
        assert [e["after"]["text"] for e in await wall.wait_for(1)] == ["delivered the ordinary way"]
        assert called == [], "the extension was not offered"
        assert WebSocketProtocol.incompatible == "uvicorn's websocket protocol has no renamed_in_a_new_release"
        assert not wall.ended.is_set()
    finally:
        await wall.close()
