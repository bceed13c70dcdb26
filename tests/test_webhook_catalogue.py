"""The event catalogue is generated from the code: every recorded event type is in it, the README shows
it as generated, and the app serves it."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx

from app.event_visibility import EVENT_TYPES
from app.webhooks.catalogue import DESCRIPTIONS, STANDARD_NAMES, catalogue, markdown

ROOT = Path(__file__).resolve().parent.parent
RECORDERS = {"record", "_record"}  # uow.record("type", ...), record(uow, po, "type", ...), _record(uow, activity, "type", ...)
CONSTANTS = {"ESCALATED", "LOWERED"}  # the jeopardy escalation event types


def _recorded_in(tree: ast.AST) -> set[str]:
    """Event types in a module: the first string argument of each record call, and the jeopardy constants."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name in RECORDERS:
                first = next((a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)), None)
                if first is not None:
                    found.add(first)
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and any(isinstance(t, ast.Name) and t.id in CONSTANTS for t in node.targets)
        ):
            found.add(node.value.value)
    return found


def recorded_types() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        found |= _recorded_in(ast.parse(path.read_text()))
    return found


def test_every_event_type_the_code_records_is_in_the_catalogue() -> None:
    recorded = recorded_types()
    assert {"orderCreated", "partyOrderCreated", "escalated", "activityRescheduled"} <= recorded, (
        "the scan finds the record calls"
    )
    assert recorded - set(EVENT_TYPES) == set(), "declare these in app/event_visibility.py"
    assert {e["type"] for e in catalogue()} == set(EVENT_TYPES)
    assert set(STANDARD_NAMES) <= set(EVENT_TYPES) and set(DESCRIPTIONS) >= recorded


def test_customer_orders_travel_under_tmf622_service_orders_under_tmf641_party_orders_under_mef_names() -> None:
    by_type = {e["type"]: e for e in catalogue()}
    assert by_type["orderCreated"]["standard"] == {"domain": "TMF622 productOrdering", "names": ["productOrderCreateEvent"]}
    assert by_type["orderStateChanged"]["standard"]["names"] == [
        "productOrderStateChangeEvent",
        "productOrderInformationRequiredEvent",
    ]
    assert by_type["jeopardyChanged"]["standard"]["names"] == ["productOrderJeopardyAlert"]
    assert by_type["activityStateChanged"]["standard"]["names"] == ["productOrderMilestoneEvent"]
    assert by_type["orderUpdated"]["standard"]["names"] == ["productOrderAttributeValueChangeEvent"]
    assert by_type["serviceOrderStateChanged"]["standard"]["domain"].startswith("TMF641")
    assert by_type["partyOrderStateChanged"]["standard"]["domain"].startswith("MEF")
    assert by_type["escalated"]["partner"] is None, "escalations are the enterprise's own"


def test_the_readme_shows_the_catalogue_as_generated() -> None:
    readme = (ROOT / "README.md").read_text()
    assert markdown() in readme, "README's event catalogue is stale: paste app.webhooks.catalogue.markdown() over it"


async def test_the_app_serves_the_catalogue(http: httpx.AsyncClient, viewer: object) -> None:
    response = await http.get("/events/catalogue")
    assert response.status_code == 200
    assert response.json() == {"eventTypes": catalogue()}
