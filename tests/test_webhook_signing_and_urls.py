"""Signatures that any Standard Webhooks receiver accepts, and URLs that cannot reach private networks."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings, strategies as st
from standardwebhooks.webhooks import Webhook as Verifier, WebhookVerificationError

from app.errors import InvalidInput
from app.webhooks import signing, urls


def now() -> int:
    """The signing time: taken when the message is signed (the reference implementation refuses one over
    five minutes old, and a long suite can reach this test later than that after collection)."""
    return int(datetime.now(UTC).timestamp())


message_ids = st.text(alphabet=st.characters(codec="ascii", exclude_characters=" ,\r\n"), min_size=1, max_size=40)
bodies = st.text(max_size=500).map(lambda t: t.encode())


@settings(max_examples=200, deadline=None)
@given(message_ids, bodies)
def test_every_signed_message_verifies_with_the_reference_implementation(msg_id: str, body: bytes) -> None:
    secret = signing.new_secret()
    headers = signing.headers([secret], msg_id, now(), body)
    assert Verifier(secret).verify(body, headers, json_parse=False) is None
    with pytest.raises(WebhookVerificationError):
        Verifier(signing.new_secret()).verify(body, headers, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Verifier(secret).verify(body + b"x", headers, json_parse=False)


@settings(max_examples=50, deadline=None)
@given(message_ids, bodies)
def test_during_a_rotation_either_secret_verifies(msg_id: str, body: bytes) -> None:
    old, new = signing.new_secret(), signing.new_secret()
    headers = signing.headers([new, old], msg_id, now(), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Verifier(secret).verify(body, headers, json_parse=False)


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    import base64

    secret = signing.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != signing.new_secret()


PRIVATE = [
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "0.0.0.0/8",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
]
STRICT = urls.UrlPolicy(allowed_hosts=("*",))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PRIVATE).flatmap(lambda net: st.integers(0, net.num_addresses - 1).map(lambda i: str(net[i]))))
def test_no_private_loopback_link_local_or_reserved_address_is_allowed(address: str) -> None:
    assert not urls.address_allowed(address, STRICT)
    if ":" not in address:
        assert not urls.address_allowed(f"::ffff:{address}", STRICT), "nor as an IPv4-mapped IPv6 address"


def test_public_addresses_pass_and_private_ones_only_when_allowed() -> None:
    assert urls.address_allowed("93.184.216.34", STRICT) and urls.address_allowed("2606:4700::1111", STRICT)
    assert urls.address_allowed("127.0.0.1", urls.UrlPolicy(allowed_hosts=("*",), allow_private=True))
    assert not urls.address_allowed("224.0.0.1", urls.UrlPolicy(allowed_hosts=("*",), allow_private=True)), "never multicast"


def test_host_patterns() -> None:
    policy = urls.UrlPolicy(allowed_hosts=("erp.example.com", "*.partner.net"))
    assert policy.host_allowed("ERP.example.com.") and policy.host_allowed("hooks.partner.net")
    assert not policy.host_allowed("example.com") and not policy.host_allowed("evilpartner.net")
    assert not urls.UrlPolicy(allowed_hosts=()).host_allowed("erp.example.com"), "nothing allowed by default"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/hook", "ADDRESS_NOT_ALLOWED"),
        ("http://localhost:9/hook", "ADDRESS_NOT_ALLOWED"),
        ("http://[::1]:9/hook", "ADDRESS_NOT_ALLOWED"),
        ("http://0x7f000001/hook", "ADDRESS_NOT_ALLOWED"),
        ("http://no-such-host.invalid/hook", "HOST_UNRESOLVABLE"),
        ("gopher://127.0.0.1/", "URL_SCHEME_NOT_ALLOWED"),
        ("http://127.0.0.1:99999/", "URL_INVALID"),
    ],
)
async def test_loopback_names_and_tricks_are_refused(url: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await urls.check(url, STRICT)
    assert refused.value.details == {"field": "url", "reason": reason}


async def test_the_checked_address_is_where_the_request_goes() -> None:
    target = await urls.check("http://localhost:8123/a/b?c=1", urls.UrlPolicy(allowed_hosts=("localhost",), allow_private=True))
    assert target.host == "localhost" and target.connect_url in ("http://127.0.0.1:8123/a/b?c=1", "http://[::1]:8123/a/b?c=1")


async def test_an_address_refused_at_delivery_time_is_never_called(staff: object, db: object, clock: object) -> None:
    """Registered while private addresses were allowed; the deliverer checks again and refuses, without a request."""
    from app.clock import FrozenClock
    from app.db import Database
    from app.webhooks.delivery import Deliverer, DeliveryConfig
    from tests.api import Api
    from tests.factories import create_order
    from tests.webhook_receiver import Receiver
    from tests.webhooks import create_webhook, deliveries

    assert isinstance(staff, Api) and isinstance(db, Database) and isinstance(clock, FrozenClock)
    receiver = await Receiver().start()
    deliverer = Deliverer(db, DeliveryConfig(policy=urls.UrlPolicy(allowed_hosts=("127.0.0.1",)), backoff_base=60))
    try:
        hook, _ = await create_webhook(staff, receiver.url, ["orderCreated"])
        await create_order(staff, clock.now())
        turn = await deliverer.turn(int(hook["id"]))
        assert turn.sent is not None and not turn.sent.ok
        (delivery,) = await deliveries(staff, hook["id"])
        assert delivery["attempts"][0]["statusCode"] is None
        assert delivery["attempts"][0]["error"].startswith("ADDRESS_NOT_ALLOWED")
        assert receiver.requests == []
    finally:
        await deliverer.stop()
        await receiver.stop()


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60), st.floats(0.01, 10), st.floats(0.01, 1000))
def test_backoff_doubles_up_to_the_cap_with_the_upper_half_jittered(failures: int, base: float, cap: float) -> None:
    from app.webhooks.delivery import DeliveryConfig

    config = DeliveryConfig(policy=STRICT, backoff_base=base, backoff_cap=cap)
    full = min(cap, base * 2 ** (failures - 1))
    delay = config.backoff(failures)
    assert full / 2 <= delay <= full
