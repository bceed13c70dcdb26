"""The customer order tree for the read planner (``app/graphql/planner.py``): tables, relations, root fields.

Each relation has the predicates and order of the DataLoader its resolver reads (``app/orders/loaders.py``,
``app/party_orders/loaders.py``), so a planned answer lists what strawberry's execution lists, in the
same order. The root fields build their page with the statement ``queries.list_orders`` runs.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from graphql import GraphQLObjectType, get_nullable_type
from graphql.execution.collect_fields import collect_subfields
from graphql.execution.values import get_argument_values
from sqlalchemy import ColumnElement, Select, Text, case, cast, literal, literal_column, select
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments

from app.columns import table_of
from app.forecast.graphql.types import PARTY_ORDER_FORECAST_KEYS
from app.forecast.models import OrderForecast
from app.graphql.ids import parse_id
from app.graphql.permissions import Reader
from app.graphql.planner import (
    Computed,
    IdList,
    JsonEntry,
    NotPlanned,
    PlannedRoot,
    Planner,
    ReadModel,
    Relation,
    RootReader,
    StoredJson,
    loads,
)
from app.jeopardy.models import Escalation
from app.orders import queries
from app.orders.graphql.enums import SortDirection
from app.orders.loaders import Record
from app.orders.models import (
    Activity,
    ActivityDependency,
    ActivityPartyDependency,
    CustomerOrder,
    OrderItem,
    OrderNote,
    ServiceOrderRequest,
)
from app.pagination import count_of, page_of
from app.party_orders.models import Party, PartyChangeRequest, PartyMilestone, PartyOrder, PartyOrderItem

T = {
    name: table_of(model)
    for name, model in {
        "CustomerOrder": CustomerOrder,
        "OrderItem": OrderItem,
        "Activity": Activity,
        "ServiceOrderRequest": ServiceOrderRequest,
        "PartyOrder": PartyOrder,
        "OrderNote": OrderNote,
        "Escalation": Escalation,
        "Party": Party,
        "PartyOrderLine": OrderItem,
        "PartyMilestone": PartyMilestone,
        "PartyChangeRequest": PartyChangeRequest,
        "CustomerOrderForecast": OrderForecast,
    }.items()
}
LINKS = table_of(PartyOrderItem)


def _party_orders_of_item(item: Any, po: Any) -> list[Any]:
    linked = (
        select(LINKS.c.party_order_id).where(LINKS.c.item_id == item.c.id, LINKS.c.order_id == item.c.order_id).correlate(item)
    )
    return [po.c.order_id == item.c.order_id, po.c.id.in_(linked.scalar_subquery())]


def _lines_of_party_order(po: Any, item: Any) -> list[Any]:
    linked = select(LINKS.c.item_id).where(LINKS.c.party_order_id == po.c.id).correlate(po)
    return [item.c.id.in_(linked.scalar_subquery())]


def _direction(escalation: Any) -> Any:
    """``Escalation.direction`` (app/jeopardy/graphql/types.py) in SQL: up a level is an escalation."""
    return case((escalation.c.to_level > escalation.c.from_level, literal("ESCALATE", Text)), else_=literal("DEESCALATE", Text))


READ_MODEL = ReadModel(
    tables=T,
    relations={
        ("CustomerOrder", "items"): Relation(
            "OrderItem", lambda o, i: [i.c.order_id == o.c.id, i.c.parent_id.is_(None)], lambda i: [i.c.position, i.c.id]
        ),
        ("CustomerOrder", "allItems"): Relation(
            "OrderItem", lambda o, i: [i.c.order_id == o.c.id], lambda i: [i.c.parent_id, i.c.position, i.c.id]
        ),
        ("CustomerOrder", "activities"): Relation(
            "Activity", lambda o, a: [a.c.order_id == o.c.id], lambda a: [a.c.planned_start, a.c.id]
        ),
        ("CustomerOrder", "serviceOrderRequests"): Relation(
            "ServiceOrderRequest", lambda o, r: [r.c.order_id == o.c.id], lambda r: [r.c.id]
        ),
        ("CustomerOrder", "partyOrders"): Relation("PartyOrder", lambda o, p: [p.c.order_id == o.c.id], lambda p: [p.c.id]),
        ("OrderItem", "children"): Relation(
            "OrderItem", lambda i, c: [c.c.order_id == i.c.order_id, c.c.parent_id == i.c.id], lambda c: [c.c.position, c.c.id]
        ),
        ("OrderItem", "activities"): Relation(
            "Activity", lambda i, a: [a.c.order_id == i.c.order_id, a.c.item_id == i.c.id], lambda a: [a.c.planned_start, a.c.id]
        ),
        ("OrderItem", "serviceOrderRequest"): Relation(
            "ServiceOrderRequest",
            lambda i, r: [r.c.order_id == i.c.order_id, r.c.item_id == i.c.id],
            lambda r: [r.c.id],
            many=False,
        ),
        ("OrderItem", "partyOrders"): Relation("PartyOrder", _party_orders_of_item, lambda p: [p.c.id]),
        ("Activity", "predecessorIds"): IdList(
            table_of(ActivityDependency), "predecessor_id", lambda a, d: [d.c.activity_id == a.c.id]
        ),
        ("Activity", "waitsOnPartyOrderIds"): IdList(
            table_of(ActivityPartyDependency), "party_order_id", lambda a, d: [d.c.activity_id == a.c.id]
        ),
        ("CustomerOrder", "notes"): Relation("OrderNote", lambda o, n: [n.c.order_id == o.c.id], lambda n: [n.c.id]),
        ("CustomerOrder", "escalations"): Relation("Escalation", lambda o, e: [e.c.order_id == o.c.id], lambda e: [e.c.id]),
        ("PartyOrder", "party"): Relation(
            "Party", lambda p, party: [party.c.id == p.c.party_id], lambda party: [party.c.id], many=False
        ),
        ("PartyOrder", "lines"): Relation("PartyOrderLine", _lines_of_party_order, lambda i: [i.c.id]),
        ("PartyOrder", "milestones"): Relation(
            "PartyMilestone", lambda p, m: [m.c.party_order_id == p.c.id], lambda m: [m.c.planned_date, m.c.id]
        ),
        ("PartyOrder", "changeRequests"): Relation(
            "PartyChangeRequest", lambda p, c: [c.c.party_order_id == p.c.id], lambda c: [c.c.id]
        ),
        # forecasts_by_order (app/forecast/loaders.py): the order's one forecast row, or none
        ("CustomerOrder", "forecast"): Relation(
            "CustomerOrderForecast", lambda o, f: [f.c.order_id == o.c.id], lambda f: [f.c.order_id], many=False
        ),
        # the same row's party_orders map, at the party order's id as text
        ("PartyOrder", "forecast"): JsonEntry(
            T["CustomerOrderForecast"],
            "party_orders",
            lambda p, f: [f.c.order_id == p.c.order_id],
            lambda p: cast(p.c.id, Text),
            PARTY_ORDER_FORECAST_KEYS,
        ),
    },
    computed={
        ("CustomerOrder", "contacts"): StoredJson("contacts", "objects"),
        ("CustomerOrder", "characteristics"): StoredJson("characteristics", "pairs"),
        ("Escalation", "notify"): StoredJson("notify", "strings"),
        ("Escalation", "direction"): Computed(_direction),
        ("PartyOrderLine", "itemId"): Computed(lambda item: cast(item.c.id, Text)),
        ("CustomerOrderForecast", "criticalPath"): StoredJson("critical_path", "objects"),
    },
    permissions=(Reader,),
)


# What the page's cursors are made of (the id and what every sort's ``value_of`` reads): the rest of
# an order comes as its JSON, so the wide columns (contacts, characteristics) are not sent twice.
CURSOR_COLUMNS = ("id", "created_at", "updated_at", "committed_date", "sales_request_ref", "priority")


def _allowed(executor: Any) -> None:
    """The root fields' permission (Reader), asked as strawberry asks it; a refusal is strawberry's to report."""
    Reader().has_permission(None, SimpleNamespace(context=executor.context_value))  # type: ignore[arg-type]  # it reads only info.context; graphql-core's executor has no strawberry Info here


def _arguments(executor: Any, root_type: GraphQLObjectType, name: str, details: Any) -> dict[str, Any]:
    """The root field's arguments converted as strawberry converts them for its resolver."""
    field_def = root_type.fields[name]
    raw = get_argument_values(field_def, details[0].node, executor.variable_values)
    definition = field_def.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    strawberry_schema = executor.schema._strawberry_schema
    return convert_arguments(
        raw,
        definition.arguments,
        scalar_registry=strawberry_schema.schema_converter.scalar_registry,
        config=strawberry_schema.config,
    )


def _subfields(executor: Any, parent: Any, details: Any) -> Any:
    return collect_subfields(
        executor.schema, executor.fragments, executor.variable_values, executor.operation, parent, details
    ).grouped_field_set


def customer_orders(planner: Planner, executor: Any, root_type: GraphQLObjectType, name: str, details: Any) -> PlannedRoot:
    """``customerOrders``: the page statement of ``list_orders`` with each order's JSON built beside it."""
    _allowed(executor)
    args = _arguments(executor, root_type, name, details)
    f = args["filter"].to_domain() if args.get("filter") else queries.OrderFilter()
    sort, descending, first, after = args["sort"].value, args["direction"] is SortDirection.DESC, args["first"], args.get("after")
    _, _, value_of = queries.SORTS[sort]
    connection_type = get_nullable_type(root_type.fields[name].type)
    edge_type = get_nullable_type(get_nullable_type(connection_type.fields["edges"].type).of_type)
    page_info_type = get_nullable_type(connection_type.fields["pageInfo"].type)
    order_type = get_nullable_type(edge_type.fields["node"].type)
    plan: list[tuple[str, Any]] = []  # (response name, what)
    nodes: list[str] = []  # compiled JSON expressions, one column each
    for key, sub in _subfields(executor, connection_type, details).items():
        field_name = sub[0].node.name.value
        if sub[0].node.arguments:
            raise NotPlanned("argument")
        if field_name == "__typename":
            plan.append((key, ("typename", connection_type.name)))
        elif field_name == "pageInfo":
            plan.append(
                (key, ("pageInfo", [(k, s[0].node.name.value) for k, s in _subfields(executor, page_info_type, sub).items()]))
            )
        elif field_name == "edges":
            edge_plan = []
            for edge_key, edge_sub in _subfields(executor, edge_type, sub).items():
                edge_field = edge_sub[0].node.name.value
                if edge_field == "node":
                    nodes.append(planner.node_sql(planner.shape(executor, order_type, edge_sub), executor.schema))
                    edge_plan.append((edge_key, ("node", len(nodes) - 1)))
                elif edge_field in ("cursor", "__typename"):
                    edge_plan.append((edge_key, (edge_field, edge_type.name)))
                else:
                    raise NotPlanned(edge_field)
            plan.append((key, ("edges", edge_plan)))
        elif field_name == "totalCount":
            plan.append((key, ("totalCount", None)))
        else:
            raise NotPlanned(field_name)
    counted = any(kind == "totalCount" for _, (kind, _) in plan)

    def build() -> tuple[Any, Any]:
        page = queries.orders_page_query(f, sort=sort, descending=descending, first=first, after=after, position="page_position")
        rows = page.subquery("o")
        count = count_of(queries.filtered(f))
        columns: list[ColumnElement[Any]] = [rows.c[name] for name in CURSOR_COLUMNS]
        columns += [literal_column(planner.as_text(sql)).label(f"node_{n}") for n, sql in enumerate(nodes)]
        if counted:
            columns.append(count.scalar_subquery().label("total_count"))
        return select(*columns).select_from(rows).order_by(rows.c.page_position), count

    # repr of the domain filter: a dataclass of plain values (what the statement is built from)
    statement, count = planner.statement(
        ("customerOrders", tuple(nodes), counted, repr(f), sort, descending, first, after), build
    )

    async def finish(result: list[Any], session: Any) -> dict[str, Any]:
        records = [Record(r._mapping) for r in result]
        total = records[0].total_count if counted and records else None
        if counted and not records:  # no row to carry the count (a page past the end): count alone
            total = int((await session.execute(count)).scalar_one())
        built = page_of(records, first=first, after=after, value_of=value_of)
        info = {
            "hasNextPage": built.has_next_page,
            "hasPreviousPage": built.has_previous_page,
            "startCursor": built.start_cursor,
            "endCursor": built.end_cursor,
            "__typename": page_info_type.name,
        }
        out: dict[str, Any] = {}
        for key, (kind, what) in plan:
            if kind == "typename":
                out[key] = what
            elif kind == "totalCount":
                out[key] = total
            elif kind == "pageInfo":
                out[key] = {k: info[f] for k, f in what}
            else:
                edges = []
                for record, cursor in zip(built.items, built.cursors):
                    edge: dict[str, Any] = {}
                    for edge_key, (edge_kind, edge_what) in what:
                        edge[edge_key] = (
                            loads(getattr(record, f"node_{edge_what}"))
                            if edge_kind == "node"
                            else cursor
                            if edge_kind == "cursor"
                            else edge_what
                        )
                    edges.append(edge)
                out[key] = edges
        return out

    return PlannedRoot(statement, finish)


def customer_order(planner: Planner, executor: Any, root_type: GraphQLObjectType, name: str, details: Any) -> PlannedRoot:
    """``customerOrder(id)``: the order's JSON, or null when there is no such order."""
    _allowed(executor)
    order_id = parse_id(_arguments(executor, root_type, name, details)["id"])
    sql = planner.node_sql(planner.shape(executor, get_nullable_type(root_type.fields[name].type), details), executor.schema)
    row = T["CustomerOrder"].alias("o")
    statement: Select[Any] = (
        select(literal_column(planner.as_text(sql)).label("node")).select_from(row).where(row.c.id == order_id)
    )

    async def finish(result: list[Any], session: Any) -> Any:
        return loads(result[0].node) if result else None

    return PlannedRoot(statement, finish)


ROOTS: dict[str, RootReader] = {"customerOrders": customer_orders, "customerOrder": customer_order}
