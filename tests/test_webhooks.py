"""Webhooks: an ERP registers an endpoint and gets every order event it asked for, signed, in order, at
least once, through receiver outages, errors and timeouts; partners get their own party's events with
partner fields only; URLs to hosts the operator did not allow are refused."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from tests.api import Api
from tests.factories import create_order
from tests.party import (
    CHECK_IN,
    acknowledge,
    create_party,
    order_with_party_items,
    partner_api,
    requisition,
)
from tests.webhook_receiver import Receiver
from tests.webhooks import (
    CREATE_WEBHOOK,
    DELETE_WEBHOOK,
    RETRY,
    UPDATE_WEBHOOK,
    create_webhook,
    deliveries,
    delivery_settings,
    settled_deliveries,
    webhook,
)

NOTE = "mutation($id: ID!, $t: String!) { addOrderNote(orderId: $id, text: $t) { id } }"
STATE = "mutation($id: ID!, $s: OrderState!) { changeOrderState(id: $id, state: $s) { state } }"


@pytest.fixture
def settings() -> Settings:
    return delivery_settings()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


async def add_notes(staff: Api, order_id: str, n: int, prefix: str = "n") -> None:
    for i in range(n):
        await staff.ok(NOTE, {"id": order_id, "t": f"{prefix}{i}"})


async def test_an_erp_receives_each_order_event_signed_in_tmf_names_and_in_order(
    staff: Api, clock: FrozenClock, receiver: Receiver
) -> None:
    hook, secret = await create_webhook(
        staff, receiver.url, ["productOrderCreateEvent", "productOrderStateChangeEvent", "noteAdded"]
    )
    assert secret.startswith("whsec_") and hook["state"] == "ACTIVE"
    order = await create_order(staff, clock.now())
    await staff.ok(STATE, {"id": order["id"], "s": "IN_PROGRESS"})
    await add_notes(staff, order["id"], 3)
    got = await receiver.wait_delivered(5)
    payloads = [r.verified(secret) for r in got]  # the reference implementation checks every signature
    assert [p["eventType"] for p in payloads] == ["productOrderCreateEvent", "productOrderStateChangeEvent"] + [
        "productOrderAttributeValueChangeEvent"
    ] * 3
    assert [p["sourceEventType"] for p in payloads] == [
        "orderCreated",
        "orderStateChanged",
        "noteAdded",
        "noteAdded",
        "noteAdded",
    ]
    sequences = [p["sequence"] for p in payloads]
    assert sequences == sorted(sequences) and len(set(sequences)) == 5
    first = payloads[0]
    assert set(first) >= {"eventId", "eventType", "eventTime", "correlationId", "domain", "event"}
    assert first["eventId"] == got[0].message_id and first["correlationId"] == order["id"]
    assert first["domain"].startswith("TMF622") and first["event"]["productOrder"]["id"] == order["id"]
    assert payloads[1]["event"]["productOrder"]["state"] == "inProgress"
    with pytest.raises(WebhookVerificationError):
        got[0].verified("whsec_" + "A" * 43 + "=")  # another secret does not verify
    log = await settled_deliveries(staff, hook["id"], lambda log: len(log) == 5 and log[-1]["state"] == "DELIVERED")
    assert [d["state"] for d in log] == ["DELIVERED"] * 5
    assert all(len(d["attempts"]) == 1 and d["attempts"][0]["statusCode"] == 200 for d in log)


async def test_a_receiver_down_then_up_gets_everything_in_order(staff: Api, clock: FrozenClock, receiver: Receiver) -> None:
    hook, secret = await create_webhook(staff, receiver.url, ["noteAdded"], fmt="THIN")
    order = await create_order(staff, clock.now())
    await receiver.stop()  # the ERP is down for maintenance
    await add_notes(staff, order["id"], 6)

    log = await settled_deliveries(staff, hook["id"], lambda log: log and log[0]["attemptCount"] >= 2)
    assert len(log) == 1, "nothing after the first event goes while it has not been delivered"
    assert all(a["statusCode"] is None and a["error"] for a in log[0]["attempts"])
    await receiver.start()
    got = await receiver.wait_delivered(6)
    payloads = [r.verified(secret) for r in got]
    assert [p["event"]["entity"] for p in payloads] == ["note"] * 6
    assert [p["sequence"] for p in payloads] == sorted(p["sequence"] for p in payloads)
    assert len({r.message_id for r in got}) == 6, "each event exactly once once the receiver is back"
    assert set(payloads[0]["event"]) == {"entity", "id", "orderId"}, "THIN carries ids only"


async def test_500s_and_timeouts_back_off_and_every_attempt_is_logged(staff: Api, clock: FrozenClock, receiver: Receiver) -> None:
    receiver.script = [500, 503, 1.5]  # two errors, then an answer slower than the 0.5 s read timeout
    hook, secret = await create_webhook(staff, receiver.url, ["orderCreated"])
    order = await create_order(staff, clock.now())
    got = await receiver.wait_delivered(1)
    assert len({r.message_id for r in receiver.requests}) == 1, "every attempt carries the same webhook-id"
    assert got[0].verified(secret)["event"]["productOrder"]["id"] == order["id"]
    (delivery,) = await settled_deliveries(staff, hook["id"], lambda log: log and log[0]["state"] == "DELIVERED")
    attempts = delivery["attempts"]
    assert [a["statusCode"] for a in attempts] == [500, 503, None, 200]
    assert attempts[0]["error"] == "HTTP 500" and attempts[2]["error"].startswith("timeout")
    assert attempts[2]["durationMs"] >= 400
    assert delivery["state"] == "DELIVERED" and delivery["attemptCount"] == 4
    assert (await webhook(staff, hook["id"]))["failures"] == 0


async def test_after_repeated_failures_the_webhook_is_failing_later_events_wait_and_a_retry_resumes(
    staff: Api, clock: FrozenClock, receiver: Receiver
) -> None:
    receiver.script = [500] * 1000  # failing until the script is cleared
    hook, secret = await create_webhook(staff, receiver.url, ["noteAdded"])
    order = await create_order(staff, clock.now())
    await add_notes(staff, order["id"], 2)
    await receiver.wait_for(lambda r: len(r.requests) >= 3 and r.requests[2].status == 500, what="three failed attempts")
    log = await settled_deliveries(staff, hook["id"], lambda log: log and log[0]["state"] == "FAILED")
    state = await webhook(staff, hook["id"])
    assert state["state"] == "FAILING"
    assert re.search(r"failed \d+ times in a row; last: HTTP 500", state["failureReason"]), state["failureReason"]
    log = await deliveries(staff, hook["id"])
    assert log[0]["state"] == "FAILED" and len(log) == 1, "the second note waits behind the first"
    retried = (await staff.ok(RETRY, {"id": log[0]["id"]}))["retryWebhookDelivery"]
    assert retried["state"] == "PENDING"
    receiver.script = []  # the receiver is fixed after the retry: the webhook retries by itself at the cap too
    got = await receiver.wait_delivered(2)
    assert [r.verified(secret)["event"]["productOrder"]["note"][0]["text"] for r in got] == ["n0", "n1"]
    await settled_deliveries(staff, hook["id"], lambda log: len(log) == 2 and log[-1]["state"] == "DELIVERED")
    assert (await webhook(staff, hook["id"]))["state"] == "ACTIVE"
    assert await staff.code(RETRY, {"id": log[0]["id"]}) == "CONFLICT", "a delivered one is not sent again"


async def test_a_paused_webhook_keeps_its_events_until_resumed(staff: Api, clock: FrozenClock, receiver: Receiver) -> None:
    hook, _ = await create_webhook(staff, receiver.url, ["noteAdded"])
    paused = (await staff.ok(UPDATE_WEBHOOK, {"id": hook["id"], "input": {"paused": True}}))["updateWebhook"]
    assert paused["webhook"]["state"] == "PAUSED" and paused["secret"] is None
    order = await create_order(staff, clock.now())
    await add_notes(staff, order["id"], 2)
    assert receiver.requests == [] and await deliveries(staff, hook["id"]) == []
    await staff.ok(UPDATE_WEBHOOK, {"id": hook["id"], "input": {"paused": False}})
    assert len(await receiver.wait_delivered(2)) == 2


async def test_during_a_secret_rotation_both_secrets_sign(staff: Api, clock: FrozenClock, receiver: Receiver) -> None:
    hook, old = await create_webhook(staff, receiver.url, ["noteAdded"])
    rotated = (await staff.ok(UPDATE_WEBHOOK, {"id": hook["id"], "input": {"rotateSecret": True}}))["updateWebhook"]
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old and rotated["webhook"]["rotatingSecretUntil"]
    order = await create_order(staff, clock.now())
    await add_notes(staff, order["id"], 1)
    (got,) = await receiver.wait_delivered(1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert got.verified(old) == got.verified(new)


async def test_the_graphql_format_sends_what_the_webhooks_document_selects(
    staff: Api, clock: FrozenClock, receiver: Receiver
) -> None:
    document = "subscription { event { id type standardType sequence orderId after } }"
    _, secret = await create_webhook(staff, receiver.url, ["orderStateChanged"], fmt="GRAPHQL", document=document)
    order = await create_order(staff, clock.now())
    await staff.ok(STATE, {"id": order["id"], "s": "PENDING"})
    (got,) = await receiver.wait_delivered(1)
    event = got.verified(secret)["data"]["event"]
    assert set(event) == {"id", "type", "standardType", "sequence", "orderId", "after"}
    assert event["id"] == got.message_id and event["orderId"] == order["id"] and event["after"] == {"state": "pending"}
    assert event["standardType"] == "productOrderInformationRequiredEvent"
    bad = await staff.error(
        CREATE_WEBHOOK,
        {
            "input": {
                "url": receiver.url,
                "eventTypes": ["noteAdded"],
                "payloadFormat": "GRAPHQL",
                "document": "subscription { event { secret } }",
            }
        },
    )
    assert bad["extensions"]["code"] == "INVALID_INPUT" and bad["extensions"]["field"] == "document"


async def test_a_partners_webhook_gets_its_own_partys_events_with_partner_fields_only(
    staff: Api, http: Any, db: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    party_a, party_b = (await create_party(staff, name="Fibre A"))["id"], (await create_party(staff, name="Fibre B"))["id"]
    partner_a, partner_b = await partner_api(http, db, clock, party_a), await partner_api(http, db, clock, party_b)
    # By ordertrack's names and by MEF Sonata's (which, for a partner, covers party order state changes only).
    hook, secret = await create_webhook(
        partner_a, receiver.url, ["partyOrderCreated", "partyOrderAcknowledged", "productOrderStateChangeEvent"]
    )
    assert hook["partyId"] == party_a
    for enterprise_only in (["orderCreated"], ["escalated"], ["partyCheckInRecorded"]):
        refused = await partner_a.error(
            CREATE_WEBHOOK, {"input": {"url": receiver.url, "eventTypes": enterprise_only, "payloadFormat": "TMF"}}
        )
        assert refused["extensions"]["code"] == "INVALID_INPUT", f"{enterprise_only} is not offered to partners"
    order = await order_with_party_items(staff, clock.now(), party_a, party_b)
    pos = {po["partyId"]: po for po in await requisition(staff, order["id"])}
    mine, theirs = pos[party_a], pos[party_b]
    await acknowledge(partner_b, theirs["id"], clock.now())
    await staff.ok(
        CHECK_IN,
        {"id": mine["id"], "input": {"at": clock.now().isoformat(), "withWhom": "SECRET-CONTACT", "outcome": "SECRET-OUTCOME"}},
    )
    await staff.ok(
        'mutation($id: ID!) { escalatePartyOrder(id: $id, level: 1, reason: "SECRET-ESCALATION") { id } }', {"id": mine["id"]}
    )
    await acknowledge(partner_a, mine["id"], clock.now())
    await receiver.wait_for(
        lambda r: any(x.json["sourceEventType"] == "partyOrderAcknowledged" for x in r.delivered),
        what="partner A's acknowledgement",
    )
    got = receiver.delivered  # in log order: anything of party B's or the enterprise's would have come before
    payloads = [r.verified(secret) for r in got]
    types = [p["sourceEventType"] for p in payloads]
    assert types[0] == "partyOrderCreated" and set(types) <= {
        "partyOrderCreated",
        "partyOrderAcknowledged",
        "partyOrderStateChanged",
    }
    assert {p["event"]["productOrder"]["id"] for p in payloads} == {mine["id"]}, "never another party's order"
    assert all(p["domain"].startswith("MEF") for p in payloads), "party orders travel under MEF Sonata names"
    assert all(p["correlationId"] == mine["id"] for p in payloads), "the party order, not the enterprise's customer order"
    text = b" ".join(r.body for r in got)
    for hidden in (b"SECRET-CONTACT", b"SECRET-OUTCOME", b"SECRET-ESCALATION", b"orderId", b"sam.staff"):
        assert hidden not in text, f"{hidden!r} reached the partner"
    log = await settled_deliveries(partner_a, hook["id"], lambda log: len(log) == len(got) and log[-1]["state"] == "DELIVERED")
    assert [d["eventType"] for d in log] == types
    assert await partner_b.code(DELETE_WEBHOOK, {"id": hook["id"]}) == "NOT_FOUND", "another partner cannot touch it"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/hook", "URL_SCHEME_NOT_ALLOWED"),
        ("http://erp.example.com/hook", "HOST_NOT_ALLOWED"),
        ("http://user:pw@127.0.0.1/hook", "URL_INVALID"),
        ("not a url", "URL_SCHEME_NOT_ALLOWED"),
    ],
)
async def test_a_url_to_a_host_the_operator_did_not_allow_is_refused(staff: Api, db: Database, url: str, reason: str) -> None:
    error = await staff.error(CREATE_WEBHOOK, {"input": {"url": url, "eventTypes": ["noteAdded"], "payloadFormat": "TMF"}})
    assert error["extensions"] == {"code": "INVALID_INPUT", "field": "url", "reason": reason}
    assert await staff.ok("{ webhooks { id } }") == {"webhooks": []}


async def test_a_viewer_may_not_manage_webhooks(viewer: Api, receiver: Receiver) -> None:
    assert (
        await viewer.code(CREATE_WEBHOOK, {"input": {"url": receiver.url, "eventTypes": ["noteAdded"], "payloadFormat": "TMF"}})
        == "FORBIDDEN"
    )


async def test_unknown_event_types_are_refused(staff: Api, receiver: Receiver) -> None:
    error = await staff.error(
        CREATE_WEBHOOK, {"input": {"url": receiver.url, "eventTypes": ["orderExploded"], "payloadFormat": "TMF"}}
    )
    assert error["extensions"]["code"] == "INVALID_INPUT" and error["extensions"]["unknown"] == ["orderExploded"]


async def test_only_the_webhooks_owner_or_staff_may_retry_its_delivery(
    staff: Api, viewer: Api, anonymous: Api, http: Any, db: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    party_a, party_b = (await create_party(staff))["id"], (await create_party(staff))["id"]
    partner_a, partner_b = await partner_api(http, db, clock, party_a), await partner_api(http, db, clock, party_b)
    receiver.script = [500] * 1000  # failing until the script is cleared
    hook, _ = await create_webhook(partner_a, receiver.url, ["partyOrderCreated"])
    order = await order_with_party_items(staff, clock.now(), party_a)
    await requisition(staff, order["id"])
    (failed,) = await settled_deliveries(partner_a, hook["id"], lambda log: log and log[0]["state"] == "FAILED")
    assert await anonymous.code(RETRY, {"id": failed["id"]}) == "UNAUTHENTICATED"
    assert await viewer.code(RETRY, {"id": failed["id"]}) == "FORBIDDEN"
    theirs, missing = await partner_b.error(RETRY, {"id": failed["id"]}), await partner_b.error(RETRY, {"id": "987654"})
    assert theirs["extensions"]["code"] == missing["extensions"]["code"] == "NOT_FOUND"
    assert theirs["message"].replace(failed["id"], "<id>") == missing["message"].replace("987654", "<id>")
    assert (await webhook(partner_a, hook["id"]))["state"] == "FAILING", "the refusals changed nothing"
    assert (await partner_a.ok(RETRY, {"id": failed["id"]}))["retryWebhookDelivery"]["state"] == "PENDING"
    receiver.script = []
    assert len(await receiver.wait_delivered(1)) == 1
    await settled_deliveries(staff, hook["id"], lambda log: log[0]["state"] == "DELIVERED")
    assert await staff.code(RETRY, {"id": failed["id"]}) == "CONFLICT"


async def test_a_partner_deletes_its_own_webhook_and_its_log(
    staff: Api, http: Any, db: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    party = (await create_party(staff))["id"]
    partner = await partner_api(http, db, clock, party)
    hook, _ = await create_webhook(partner, receiver.url, ["partyOrderCreated"])
    assert await partner.ok(DELETE_WEBHOOK, {"id": hook["id"]}) == {"deleteWebhook": hook["id"]}
    assert await partner.ok("{ webhooks { id } }") == {"webhooks": []}
    assert await staff.code(DELETE_WEBHOOK, {"id": hook["id"]}) == "NOT_FOUND"
