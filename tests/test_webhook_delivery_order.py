"""Whatever a receiver answers, in whatever order: every wanted event is delivered, in log order, each
accepted once, every repeat under the same webhook-id, and the cursor ends at the log's head (hypothesis)."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime

import httpx
from hypothesis import HealthCheck, given, settings, strategies as st

from app.auth import SYSTEM
from app.db import Database
from app.webhooks.delivery import Deliverer, DeliveryConfig
from app.webhooks.models import Webhook
from app.webhooks.signing import new_secret
from app.webhooks.urls import UrlPolicy

ANSWERS = st.sampled_from([200, 204, 500, 503, 404, "timeout", "refused"])
EVENTS = st.lists(st.sampled_from(["noteAdded", "orderUpdated", "itemStateChanged"]), min_size=1, max_size=8)


async def run(event_types: list[str], answers: list[int | str]) -> tuple[list[tuple[str, int]], list[int], int, int]:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/order.db")
        await db.create_all()
        now = datetime.now(UTC)
        async with db.write_session() as session:
            session.add(
                Webhook(
                    url="http://127.0.0.1:9/hook",
                    event_types=["noteAdded", "itemStateChanged"],
                    payload_format="THIN",
                    owner_role="staff",
                    created_by="test",
                    secret=new_secret(),
                    cursor=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.commit()
        async with db.write(SYSTEM, now) as uow:
            for n, kind in enumerate(event_types, 1):
                uow.record(kind, entity="note", entity_id=n, order_id=1)
        accepted: list[tuple[str, int]] = []
        ids_by_seq: dict[int, set[str]] = {}
        script = list(answers)

        def answer(request: httpx.Request) -> httpx.Response:
            seq = int(request.headers["webhook-id"].rsplit("_", 1)[1])
            ids_by_seq.setdefault(seq, set()).add(request.headers["webhook-id"])
            reply = script.pop(0) if script else 200
            if reply == "timeout":
                raise httpx.ReadTimeout("too slow", request=request)
            if reply == "refused":
                raise httpx.ConnectError("refused", request=request)
            if 200 <= int(reply) < 300:
                accepted.append((request.headers["webhook-id"], seq))
            return httpx.Response(int(reply))

        config = DeliveryConfig(
            policy=UrlPolicy(("127.0.0.1",), allow_private=True), backoff_base=0.0, backoff_cap=0.0, max_attempts=3
        )
        deliverer = Deliverer(db, config, client=httpx.AsyncClient(transport=httpx.MockTransport(answer)))
        try:
            for _ in range(len(answers) + 2 * len(event_types) + 5):  # bounded: each turn is one attempt or a skip
                turn = await deliverer.turn(1)
                if turn.wait is None:
                    break
            async with db.read() as session:
                hook = await session.get(Webhook, 1)
                assert hook is not None
                cursor = hook.cursor
        finally:
            await deliverer.stop()
            await deliverer.client.aclose()
            await db.dispose()
        assert all(len(ids) == 1 for ids in ids_by_seq.values()), "a repeat carries the same webhook-id"
        return accepted, sorted(ids_by_seq), cursor, len(event_types)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EVENTS, st.lists(ANSWERS, max_size=12))
def test_every_wanted_event_is_accepted_once_in_log_order_whatever_the_receiver_answers(
    event_types: list[str], answers: list[int | str]
) -> None:
    accepted, attempted, cursor, total = asyncio.run(run(event_types, answers))
    wanted = [seq for seq, kind in enumerate(event_types, 1) if kind in ("noteAdded", "itemStateChanged")]
    assert [seq for _, seq in accepted] == wanted, "each wanted event accepted once, in log order; unwanted ones never sent"
    assert attempted == wanted
    assert cursor == total, "the cursor ends at the head of the log"
