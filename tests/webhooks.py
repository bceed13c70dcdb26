"""Operations and builders for webhook tests."""

from __future__ import annotations

from typing import Any

from app.config import Settings
from tests.api import Api

WEBHOOK_FIELDS = (
    "id url eventTypes payloadFormat document state failureReason partyId cursor failures nextAttemptAt rotatingSecretUntil"
)
CREATE_WEBHOOK = (
    f"mutation($input: CreateWebhookInput!) {{ createWebhook(input: $input) {{ secret webhook {{ {WEBHOOK_FIELDS} }} }} }}"
)
UPDATE_WEBHOOK = f"mutation($id: ID!, $input: UpdateWebhookInput!) {{ updateWebhook(id: $id, input: $input) {{ secret webhook {{ {WEBHOOK_FIELDS} }} }} }}"
DELETE_WEBHOOK = "mutation($id: ID!) { deleteWebhook(id: $id) }"
WEBHOOKS = f"{{ webhooks {{ {WEBHOOK_FIELDS} }} }}"
DELIVERIES = """query($id: ID!, $first: Int) { webhookDeliveries(webhookId: $id, first: $first) {
  id messageId eventSequence eventType state attemptCount deliveredAt nextAttemptAt attempts { at statusCode durationMs error } } }"""
RETRY = "mutation($id: ID!) { retryWebhookDelivery(id: $id) { id state messageId } }"


def delivery_settings(**overrides: Any) -> Settings:
    """Delivery in the app, on loopback receivers, with backoff and timeouts small enough for tests."""
    values: dict[str, Any] = {
        "database_url": "sqlite+aiosqlite:///unused.db",
        "monitor_enabled": False,
        "webhook_delivery_enabled": True,
        "webhook_allowed_hosts": "127.0.0.1,localhost",
        "webhook_allow_private_networks": True,
        "webhook_connect_timeout_seconds": 1.0,
        "webhook_read_timeout_seconds": 0.5,
        "webhook_backoff_base_seconds": 0.05,
        "webhook_backoff_cap_seconds": 0.2,
        "webhook_max_attempts": 3,
        "webhook_poll_interval_seconds": 0.5,
        "webhook_lease_seconds": 3.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def create_webhook(
    api: Api, url: str, event_types: list[str], fmt: str = "TMF", document: str | None = None
) -> tuple[dict[str, Any], str]:
    made = (
        await api.ok(
            CREATE_WEBHOOK, {"input": {"url": url, "eventTypes": event_types, "payloadFormat": fmt, "document": document}}
        )
    )["createWebhook"]
    return made["webhook"], made["secret"]


async def deliveries(api: Api, webhook_id: str, first: int = 100) -> list[dict[str, Any]]:
    return list(reversed((await api.ok(DELIVERIES, {"id": webhook_id, "first": first}))["webhookDeliveries"]))


async def webhook(api: Api, webhook_id: str) -> dict[str, Any]:
    return next(w for w in (await api.ok(WEBHOOKS))["webhooks"] if w["id"] == webhook_id)


async def settled_deliveries(api: Api, webhook_id: str, check: Any, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The delivery log once ``check(log)`` holds (the log is written just after the receiver answered)."""
    from tests.live import wait_until

    found: list[dict[str, Any]] = []

    async def ready() -> bool:
        found[:] = await deliveries(api, webhook_id)
        return bool(check(found))

    await wait_until(ready, timeout=timeout, what="the delivery log")
    return found
