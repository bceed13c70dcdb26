"""The bodies webhooks receive: a TMF/MEF event envelope, a thin one (ids only), or a GraphQL-shaped one."""

from __future__ import annotations

from enum import Enum
from typing import Any

import orjson

from app.events import jsonable
from app.webhooks.catalogue import standard_name


class PayloadFormat(str, Enum):
    TMF = "TMF"  # TMF622/TMF641/MEF envelope with the changed resource
    THIN = "THIN"  # ids only; the receiver reads the details (MEF Sonata style)
    GRAPHQL = "GRAPHQL"  # shaped by the webhook's own subscription document (Saleor style)


JEOPARDY_TYPES = {"none": "Normal", "atRisk": "Normal", "jeopardy": "Hazard", "late": "Critical"}


def message_id(webhook_id: int, seq: int) -> str:
    """The Standard Webhooks message id: the same for every attempt of one event to one webhook."""
    return f"msg_{webhook_id}_{seq}"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_keys(values: dict[str, Any]) -> dict[str, Any]:
    return {camel(k): v for k, v in values.items()}


def event_type_name(view: dict[str, Any]) -> str:
    std = standard_name(view["type"], view["after"])
    return std.name if std else view["type"]


def _resource(view: dict[str, Any]) -> dict[str, Any]:
    """The changed resource, TMF style: the order (or service order) with the changed part inside."""
    entity, after = view["entity"], _camel_keys({**view["after"], **view["details"]})
    std = standard_name(view["type"], view["after"])
    if entity == "serviceOrderRequest":
        return {
            "serviceOrder": {
                "id": str(view["entity_id"]),
                "@type": "ServiceOrder",
                **({"productOrderId": str(view["order_id"])} if view["order_id"] else {}),
                **after,
            }
        }
    if view["party_order_id"] is not None and (std is None or std.resource == "productOrder") and entity != "order":
        order: dict[str, Any] = {"id": str(view["party_order_id"]), "@type": "ProductOrder"}
    else:
        order = {"id": str(view["order_id"] or view["entity_id"]), "@type": "ProductOrder"}
    if std is not None and std.name == "productOrderJeopardyAlert":
        level = view["after"].get("jeopardy_level") or view["details"].get("jeopardy_level")
        alert = {
            "alertDate": view["at"],
            "jeopardyType": JEOPARDY_TYPES.get(str(level), "Normal"),
            "name": view["type"],
            "message": view["after"].get("jeopardy_reason") or view["details"].get("reason"),
            "entity": entity,
            "entityId": str(view["entity_id"]),
            **after,
        }
        return {"productOrder": order, "productOrderJeopardyAlert": [alert]}
    if entity in ("order", "partyOrder"):
        return {"productOrder": {**order, **after}}
    part = {
        "item": "productOrderItem",
        "activity": "milestone",
        "note": "note",
        "partyMilestone": "milestone",
        "partyProgressReport": "milestone",
    }.get(entity, entity)
    return {"productOrder": {**order, part: [{"id": str(view["entity_id"]), **after}]}}


def tmf(view: dict[str, Any], msg_id: str) -> dict[str, Any]:
    std = standard_name(view["type"], view["after"])
    return {
        "eventId": msg_id,
        "eventType": event_type_name(view),
        "eventTime": view["at"],
        "correlationId": str(
            view["party_order_id"]
            if view["party_order_id"] is not None and view["order_id"] is None
            else view["order_id"] or view["entity_id"]
        ),
        "domain": std.domain if std else "ordertrack",
        "sequence": view["seq"],
        "sourceEventType": view["type"],
        "event": _resource(view),
    }


def thin(view: dict[str, Any], msg_id: str) -> dict[str, Any]:
    ids = {"orderId": view["order_id"], "partyOrderId": view["party_order_id"], "partyId": view["party_id"]}
    return {
        "eventId": msg_id,
        "eventType": event_type_name(view),
        "eventTime": view["at"],
        "sequence": view["seq"],
        "sourceEventType": view["type"],
        "event": {"entity": view["entity"], "id": str(view["entity_id"]), **{k: str(v) for k, v in ids.items() if v is not None}},
    }


def encode(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(jsonable(payload))
