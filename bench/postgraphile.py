"""PostGraphile 4, the peer of ``bench.tree``: installed into its own git-ignored folder, run on the same tables.

The benchmark asks it the dashboard question in PostGraphile's own vocabulary (connection filter plugin,
``orderBy`` lists, relations by foreign key) and shapes its answer into ordertrack's shape, so that the
two answers are compared field by field: ids, enum names, numbers, instants (as instants: PostgreSQL
trims trailing zeros of fractional seconds, Python does not) and the order of every list.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from bench.common import ROOT, wait_for_port
from tests.launcher import free_port, process_cpu_seconds

FOLDER = ROOT / "bench" / ".postgraphile"  # git-ignored
VERSIONS = {"postgraphile": "4.14.1", "postgraphile-plugin-connection-filter": "2.3.0"}

QUERY = """query Dashboard($first: Int!, $states: [String!]!, $priorities: [String!]!, $orderBy: [CustomerOrdersOrderBy!]!) {
  allCustomerOrders(first: $first, filter: {state: {in: $states}, priority: {in: $priorities}}, orderBy: $orderBy) {
    pageInfo { hasNextPage }
    nodes {
      id salesRequestRef customerName priority state committedDate expectedCompletion jeopardyLevel version
      orderItemsByOrderId(orderBy: [PARENT_ID_ASC, POSITION_ASC, ID_ASC]) { nodes {
        id parentId productRef quantity fulfillment state
        activitiesByItemId(orderBy: [PLANNED_START_ASC, ID_ASC]) { nodes {
          id kind state plannedStart plannedEnd expectedEnd percentComplete
          activityDependenciesByActivityId(orderBy: PREDECESSOR_ID_ASC) { nodes { predecessorId } }
        } }
        serviceOrderRequestsByItemId(orderBy: ID_ASC, first: 1) { nodes { id state externalRef } }
        partyOrderItemsByItemId(orderBy: PARTY_ORDER_ID_ASC) { nodes {
          partyOrderByPartyOrderId { id partyId state percentComplete expectedDelivery jeopardyLevel }
        } }
      } }
    }
  }
}"""


def install() -> Path:
    """PostGraphile's command line, installed with npm on first use."""
    cli = FOLDER / "node_modules" / "postgraphile" / "cli.js"
    if cli.exists():
        return cli
    if shutil.which("npm") is None:
        raise RuntimeError("npm is needed for the PostGraphile peer (Node 20)")
    FOLDER.mkdir(parents=True, exist_ok=True)
    (FOLDER / "package.json").write_text(
        json.dumps({"name": "bench-postgraphile", "private": True, "dependencies": VERSIONS}, indent=2)
    )
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=FOLDER, check=True, timeout=600)
    return cli


@dataclass
class NodeServer:
    """The PostGraphile process (a ``bench.common.Server``)."""

    process: subprocess.Popen[bytes]
    port: int
    name: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)


@contextmanager
def postgraphile(database_url: str, schema: str) -> Iterator[NodeServer]:
    """PostGraphile 4 serving ``schema`` of ``database_url`` (one node process, production mode, no query log)."""
    cli = install()
    port = free_port()
    # JIT off, as ordertrack's sweep runs: PostgreSQL's cost estimate for PostGraphile's nested statement passes
    # jit_above_cost and compiling it took seconds per request (ordertrack's and the hand-written statements stay below it).
    url = database_url.replace("postgresql+asyncpg://", "postgres://") + "?options=-c%20jit%3Doff"
    args = [
        "node",
        str(cli),
        "--connection",
        url,
        "--schema",
        schema,
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--append-plugins",
        "postgraphile-plugin-connection-filter",
        "--disable-query-log",
        "--disable-graphiql",
        "--no-setof-functions-contain-nulls",
        "--disable-default-mutations",
    ]
    process = subprocess.Popen(
        args, cwd=FOLDER, env={**os.environ, "NODE_ENV": "production"}, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    server = NodeServer(process, port, "postgraphile")
    try:
        wait_for_port(process, port, "postgraphile", 60)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def body(first: int, states: list[str], priorities: list[str], direction: str) -> bytes:
    """The dashboard question (enum values as stored) as PostGraphile's request body."""
    order_by = [f"COMMITTED_DATE_{direction.upper()}", f"ID_{direction.upper()}"]
    return orjson.dumps(
        {"query": QUERY, "variables": {"first": first, "states": states, "priorities": priorities, "orderBy": order_by}}
    )


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _name(value: str) -> str:
    """A stored enum value as ordertrack's GraphQL enum name: inProgress -> IN_PROGRESS."""
    return "".join(f"_{c}" if c.isupper() else c for c in value).upper()


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def shaped(answer: dict[str, Any]) -> dict[str, Any]:
    """PostGraphile's answer in ordertrack's shape (without the opaque end cursor)."""
    connection = answer["data"]["allCustomerOrders"]
    edges = []
    for o in connection["nodes"]:
        items = []
        for i in o["orderItemsByOrderId"]["nodes"]:
            requests = i["serviceOrderRequestsByItemId"]["nodes"]
            items.append(
                {
                    "id": _id(i["id"]),
                    "parentId": _id(i["parentId"]),
                    "productRef": i["productRef"],
                    "quantity": i["quantity"],
                    "fulfillment": _name(i["fulfillment"]),
                    "state": _name(i["state"]),
                    "activities": [
                        {
                            "id": _id(a["id"]),
                            "kind": a["kind"],
                            "state": _name(a["state"]),
                            "plannedStart": _instant(a["plannedStart"]),
                            "plannedEnd": _instant(a["plannedEnd"]),
                            "expectedEnd": _instant(a["expectedEnd"]),
                            "percentComplete": a["percentComplete"],
                            "predecessorIds": [_id(d["predecessorId"]) for d in a["activityDependenciesByActivityId"]["nodes"]],
                        }
                        for a in i["activitiesByItemId"]["nodes"]
                    ],
                    "serviceOrderRequest": {
                        "id": _id(requests[0]["id"]),
                        "state": _name(requests[0]["state"]),
                        "externalRef": requests[0]["externalRef"],
                    }
                    if requests
                    else None,
                    "partyOrders": [
                        {
                            "id": _id(p["id"]),
                            "partyId": _id(p["partyId"]),
                            "state": _name(p["state"]),
                            "percentComplete": p["percentComplete"],
                            "expectedDeliveryDate": _instant(p["expectedDelivery"]),
                            "jeopardyLevel": _name(p["jeopardyLevel"]),
                        }
                        for p in (link["partyOrderByPartyOrderId"] for link in i["partyOrderItemsByItemId"]["nodes"])
                    ],
                }
            )
        edges.append(
            {
                "node": {
                    "id": _id(o["id"]),
                    "salesRequestRef": o["salesRequestRef"],
                    "customerName": o["customerName"],
                    "priority": _name(o["priority"]),
                    "state": _name(o["state"]),
                    "committedDate": _instant(o["committedDate"]),
                    "expectedCompletion": _instant(o["expectedCompletion"]),
                    "jeopardyLevel": _name(o["jeopardyLevel"]),
                    "version": o["version"],
                    "allItems": items,
                }
            }
        )
    return {"pageInfo": {"hasNextPage": connection["pageInfo"]["hasNextPage"]}, "edges": edges}


INSTANTS = {"committedDate", "expectedCompletion", "plannedStart", "plannedEnd", "expectedEnd", "expectedDeliveryDate"}


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """ordertrack's answer with instants parsed and the end cursor left out (PostGraphile's cursors are its own)."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (_instant(v) if k in INSTANTS else walk(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    connection = answer["data"]["customerOrders"]
    return {"pageInfo": {"hasNextPage": connection["pageInfo"]["hasNextPage"]}, "edges": walk(connection["edges"])}


def difference(ours: Any, theirs: Any, path: str = "") -> str | None:
    """Where two shaped answers first differ (None when equal field by field)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if list(ours) != list(theirs):
            return f"{path}: fields {list(ours)} != {list(theirs)}"
        for key in ours:
            found = difference(ours[key], theirs[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return f"{path}: {len(ours)} entries != {len(theirs)}"
        for n, (a, b) in enumerate(zip(ours, theirs)):
            found = difference(a, b, f"{path}[{n}]")
            if found:
                return found
        return None
    return None if ours == theirs else f"{path}: {ours!r} != {theirs!r}"
