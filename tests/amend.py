"""Builders for amendment tests: the operations, and an order with work in every stage."""

from __future__ import annotations

from typing import Any

from tests.api import Api

AMEND_FIELDS = """
  id state version revision expectedCompletion jeopardyLevel
  allItems { id parentId productRef quantity state fulfillment characteristics { name value } }
  activities { id itemId state plannedStart plannedEnd version }
  serviceOrderRequests { id itemId state supplement }
  partyOrders { id state revision lines { itemId quantity } }
"""
AMEND = f"""mutation($id: ID!, $version: Int!, $input: AmendCustomerOrderInput!) {{
  amendCustomerOrder(id: $id, version: $version, input: $input) {{ {AMEND_FIELDS} }} }}"""
TREE = f"query($id: ID!) {{ customerOrder(id: $id) {{ {AMEND_FIELDS} }} }}"
PREVIEW = """query($id: ID!, $input: AmendCustomerOrderInput!) { amendmentPreview(id: $id, input: $input) {
  allowed refusals { itemId reason } revision expectedCompletion jeopardyLevel jeopardyReason
  effects { addedItems modifiedItems removedItems rescheduledActivities cancelledActivities
    supplementedServiceOrderRequests cancelledServiceOrderRequests revisedPartyOrders cancelledPartyOrders
    cancellationRequestedPartyOrders } } }"""
REVISIONS = """query($id: ID!) { partyOrder(id: $id) { id state revision lines { itemId quantity }
  revisions { revision state reason changeRequestId lines { itemId productRef change quantity previousQuantity characteristics { name value } } } } }"""
ACK_REVISION = """mutation($id: ID!, $revision: Int!, $key: String!) {
  acknowledgePartyOrderRevision(id: $id, revision: $revision, idempotencyKey: $key) { id revision version
    revisions { revision state } } }"""
REJECT_REVISION = """mutation($id: ID!, $revision: Int!, $key: String!, $reason: String!) {
  rejectPartyOrderRevision(id: $id, revision: $revision, idempotencyKey: $key, reason: $reason) { id revision version
    revisions { revision state reason changeRequestId } } }"""
TIMELINE = """query($id: ID!) { orderTimeline(orderId: $id, first: 100) { edges { node {
  sequence type entity entityId partyOrderId before after details } } } }"""


async def amend(staff: Api, order: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Amend ``order`` at its current version; the answer is the whole reconciled tree."""
    data = await staff.ok(AMEND, {"id": order["id"], "version": order["version"], "input": changes})
    return data["amendCustomerOrder"]


async def tree(api: Api, order_id: str) -> dict[str, Any]:
    return (await api.ok(TREE, {"id": order_id}))["customerOrder"]


async def events(api: Api, order_id: str) -> list[dict[str, Any]]:
    data = await api.ok(TIMELINE, {"id": order_id})
    return [e["node"] for e in data["orderTimeline"]["edges"]]


def item(order: dict[str, Any], product_ref: str) -> dict[str, Any]:
    return next(i for i in order["allItems"] if i["productRef"] == product_ref)
