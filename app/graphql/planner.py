"""The read planner: a query's selection on table-backed types answered by one SQL statement.

For a root field the planner knows (``RootReader``), the validated selection below it is turned into one
statement whose JSON is built by PostgreSQL (``json_build_object`` / ``json_agg`` over correlated
subqueries, one per nested list; SQLite: ``json_object`` / ``json_group_array``): no Python per field
(but for SQLite's floats, see ``Planner.number``). Leaves are the fields strawberry itself would read off
the row (``execution.plain_leaves``) and are rendered as strawberry renders them (IDs as text, enum values
as their names, instants as ``isoformat``, floats as orjson writes them); nested objects and lists are the
relations a ``ReadModel`` declares, each with the same order and predicates as the DataLoader it stands
for, or objects kept as JSON (a list in a column, an entry of a map keyed by the parent's id).

A selection with anything else (a field with its own resolver that no relation stands for, an
argument, a directive other than @skip/@include, an unknown scalar, a permission class the read model
does not list as deciding on the caller alone) is not planned: the whole operation then runs on
strawberry as before, and so does any operation the planner fails on (bad input, an outage): the
ordinary execution reports it. Authorization is the root field's permission class, asked before
planning, and those of the fields below it, asked once per request; a refusal is left to strawberry to
report.

The SQL below a root field depends only on the selection's shape (fields, aliases, types after
fragments and @skip/@include), so it is compiled once per shape and kept; per request only the root
statement's arguments change.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import SimpleNamespace
from typing import Any

import orjson
from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLScalarType,
    get_nullable_type,
)
from graphql.execution.collect_fields import collect_subfields
from sqlalchemy import Float, Numeric, Table, Text, case, cast, func, literal, literal_column, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSON, TIMESTAMP, aggregate_order_by
from sqlalchemy.sql import ColumnElement
from strawberry.permission import PermissionExtension
from strawberry.schema.schema_converter import GraphQLCoreConverter

from app.graphql.execution import plain_leaves

log = logging.getLogger(__name__)

MAX_SHAPES = 512
JSON_PAIRS = 50  # json_build_object takes at most 100 arguments


class NotPlanned(Exception):
    """The selection has something the planner does not answer: strawberry executes the operation."""


@dataclass(frozen=True)
class Relation:
    """A nested field answered from another table: ``where(parent, child)`` are its predicates, ``order(child)``
    its order (those of the DataLoader it stands for); ``many`` a list, else the first row or null."""

    target: str  # GraphQL type name of the rows
    where: Callable[[Any, Any], Sequence[ColumnElement[bool]]]
    order: Callable[[Any], Sequence[Any]]
    many: bool = True


@dataclass(frozen=True)
class IdList:
    """A list of IDs from a link table (``Activity.predecessorIds``)."""

    table: Table
    column: str  # the ID listed, in ascending order
    where: Callable[[Any, Any], Sequence[ColumnElement[bool]]]


@dataclass(frozen=True)
class Computed:
    """A leaf strawberry computes in Python (``Escalation.direction``), as the same value in SQL: ``value(row)``
    is already what the response holds (an ID as text, an enum as its name)."""

    value: Callable[[Any], ColumnElement[Any]]


@dataclass(frozen=True)
class StoredJson:
    """A list kept as JSON in a column: ``strings`` listed as stored, ``objects`` (the selected keys of each,
    absent ones null), or ``pairs`` (a JSON object as ``{name, value}`` items by key in code point order)."""

    column: str
    form: str  # "strings" | "objects" | "pairs"


@dataclass(frozen=True)
class JsonEntry:
    """An object kept as one entry of a JSON map in another table (``PartyOrder.forecast``): the entry at
    ``key(parent)`` of the map ``column`` in the row ``where(parent, row)`` selects; null when there is no
    such row or entry. ``keys``: the object type's Python attribute -> its key in the entry."""

    table: Table
    column: str
    where: Callable[[Any, Any], Sequence[ColumnElement[bool]]]
    key: Callable[[Any], ColumnElement[Any]]
    keys: dict[str, str]


@dataclass
class ReadModel:
    """Which table backs each GraphQL type, and the relations and computed fields that stand for resolvers.

    ``permissions``: the permission classes that decide on the caller alone (``info.context``, never the
    object), which the planner may ask once per request as strawberry asks them per object; a field with
    any other permission class, or any other field extension, is not planned."""

    tables: dict[str, Table]
    relations: dict[tuple[str, str], Relation | IdList | JsonEntry] = field(default_factory=dict)
    computed: dict[tuple[str, str], Computed | StoredJson] = field(default_factory=dict)
    permissions: tuple[type[Any], ...] = ()


Shape = tuple[Any, ...]
SCALARS = ("ID", "String", "Int", "Float", "Boolean", "DateTime")  # the scalars the planner renders as strawberry does


def instant(column: Any) -> ColumnElement[Any]:
    """A timestamptz rendered as Python's ``datetime.isoformat()`` of the UTC instant (what strawberry sends)."""
    utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
    # one to_char per value (isoformat leaves out a zero fraction): a third cheaper than concatenating parts
    return case(
        (
            func.date_trunc(literal_column("'second'"), column) == column,
            func.to_char(utc, literal_column('\'YYYY-MM-DD"T"HH24:MI:SS"+00:00"\'')),
        ),
        else_=func.to_char(utc, literal_column('\'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\'')),
    )


def sqlite_instant(column: Any) -> ColumnElement[Any]:
    """The same on SQLite, which stores a naive UTC instant as ``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLAlchemy's format)."""
    fraction = func.substr(column, 21)
    return (
        func.replace(func.substr(column, 1, 19), literal_column("' '"), literal_column("'T'"))
        .op("||")(
            case(
                (fraction.in_([literal_column("''"), literal_column("'000000'")]), literal_column("''")),
                else_=literal_column("'.'").op("||")(func.substr(column, 21, 6)),
            )
        )
        .op("||")(literal_column("'+00:00'"))
    )


def enum_names(enum_type: GraphQLEnumType) -> dict[str, str]:
    """Stored value -> the name strawberry sends for it."""
    names = {}
    for value in enum_type.values.values():
        raw = value.value.value if isinstance(value.value, Enum) else value.value
        names[raw] = enum_type.serialize(raw)
    return names


class Planner:
    """Plans and compiles selections of one schema over one ``ReadModel``, for PostgreSQL or SQLite.

    The two differ only in the JSON functions: PostgreSQL's ``json_build_object`` and ``json_agg(... ORDER
    BY ...)``; SQLite's ``json_object`` and ``json_group_array`` over an ordered subquery (its aggregates
    take no ORDER BY before 3.44), with ``json(...)`` around every nested value (a subquery's result is
    text to SQLite, JSON only once parsed again) and booleans, stored as 0/1, written as JSON's."""

    def __init__(self, model: ReadModel, sqlite_dialect: bool = False) -> None:
        self.model = model
        self.sqlite = sqlite_dialect
        self.dialect = sqlite.dialect() if sqlite_dialect else postgresql.dialect()
        self._compiled: OrderedDict[Shape, str] = OrderedDict()
        self._statements: OrderedDict[Any, Any] = OrderedDict()
        self._aliases = 0

    def statement(self, key: Any, build: Callable[[], Any]) -> Any:
        """The statement for ``key`` (the compiled selections and every argument value), built once: the same
        question asked again reuses the statement object, and so SQLAlchemy's compiled form of it."""
        found = self._statements.get(key)
        if found is None:
            found = self._statements[key] = build()
            while len(self._statements) > MAX_SHAPES:
                self._statements.popitem(last=False)
        else:
            self._statements.move_to_end(key)
        return found

    # --- shapes: what a selection asks, independent of the request's values ---

    def shape(self, executor: Any, parent: GraphQLObjectType, field_details: Any) -> Shape:
        """The selection below ``field_details`` (of a field returning ``parent`` rows) as a hashable shape."""
        if parent.name not in self.model.tables:
            raise NotPlanned(parent.name)
        leaves = plain_leaves(parent)
        table = self.model.tables[parent.name]
        entries: list[tuple[Any, ...]] = []
        for response_name, name, field_def, details in self._fields(executor, parent, field_details):
            if name == "__typename":
                entries.append((response_name, "typename", parent.name))
                continue
            computed = self.model.computed.get((parent.name, name))
            if isinstance(computed, Computed):
                entries.append((response_name, "computed", name))
                continue
            if isinstance(computed, StoredJson):
                entries.append(
                    (response_name, "json", name, self._json_keys(executor, get_nullable_type(field_def.type), details, computed))
                )
                continue
            relation = self.model.relations.get((parent.name, name))
            if relation is not None:
                if isinstance(relation, IdList):
                    entries.append((response_name, "ids", name))
                    continue
                if isinstance(relation, JsonEntry):
                    entries.append((response_name, "entry", name, self._entry_keys(executor, field_def, details, relation)))
                    continue
                target = executor.schema.get_type(relation.target)
                entries.append((response_name, "relation", name, self.shape(executor, target, details)))
                continue
            leaf = leaves.get(name)
            if leaf is None or leaf.attribute not in table.c:
                raise NotPlanned(f"{parent.name}.{name}")
            kind = get_nullable_type(field_def.type)
            if isinstance(kind, GraphQLEnumType):
                entries.append((response_name, "enum", leaf.attribute, kind.name))
            elif isinstance(kind, GraphQLScalarType) and kind.name in SCALARS:
                entries.append((response_name, kind.name, leaf.attribute))
            else:
                raise NotPlanned(f"{parent.name}.{name}: {kind}")
        return (parent.name, tuple(entries))

    def _fields(self, executor: Any, parent: GraphQLObjectType, details: Any) -> list[tuple[str, str, Any, Any]]:
        """(response name, field name, definition or None for ``__typename``, details) of each field selected on
        ``parent``, once the caller may see each (``_permitted``); an argument or another directive is not planned."""
        grouped = collect_subfields(
            executor.schema, executor.fragments, executor.variable_values, executor.operation, parent, details
        ).grouped_field_set
        fields = []
        for response_name, sub in grouped.items():
            node = sub[0].node
            if any(d.node.directives and any(x.name.value not in ("skip", "include") for x in d.node.directives) for d in sub):
                raise NotPlanned("directive")
            name = node.name.value
            if name == "__typename":
                fields.append((response_name, name, None, sub))
                continue
            if node.arguments:
                raise NotPlanned("argument")
            field_def = parent.fields[name]
            self._permitted(executor, parent, name, field_def)
            fields.append((response_name, name, field_def, sub))
        return fields

    def _permitted(self, executor: Any, parent: GraphQLObjectType, name: str, field_def: Any) -> None:
        """Ask the field's permission classes as strawberry would; a refusal, or one the model does not list as
        deciding on the caller alone, is not planned (strawberry then answers, and reports the refusal)."""
        definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        for extension in getattr(definition, "extensions", None) or ():
            if not isinstance(extension, PermissionExtension):
                raise NotPlanned(f"{parent.name}.{name}: field extension {type(extension).__name__}")
            for permission in extension.permissions:
                if type(permission) not in self.model.permissions:
                    raise NotPlanned(f"{parent.name}.{name}: permission {type(permission).__name__}")
                info: Any = SimpleNamespace(context=executor.context_value)  # all such a permission reads
                try:
                    allowed = permission.has_permission(None, info)
                except Exception as exc:  # its error is strawberry's to report
                    raise NotPlanned(f"{parent.name}.{name}: refused") from exc
                if not allowed:
                    raise NotPlanned(f"{parent.name}.{name}: refused")

    def _json_keys(self, executor: Any, list_type: Any, details: Any, stored: StoredJson) -> tuple[tuple[str, str, str], ...]:
        """(response name, stored key, kind) of each field selected on a ``StoredJson`` list's objects;
        ``__typename`` as is."""
        if stored.form == "strings":
            return ()
        item = get_nullable_type(get_nullable_type(list_type).of_type)
        keys = []
        for response_name, name, field_def, _ in self._fields(executor, item, details):
            if name == "__typename":
                keys.append((response_name, "__typename:" + item.name, "typename"))
            elif stored.form == "pairs":
                keys.append((response_name, {"name": "key", "value": "value"}[name], "String"))
            else:
                keys.append((response_name, name, self._stored_kind(item, name, field_def)))
        return tuple(keys)

    def _entry_keys(self, executor: Any, field_def: Any, details: Any, entry: JsonEntry) -> tuple[tuple[str, str, str], ...]:
        """(response name, key in the entry, kind) of each field selected on a ``JsonEntry`` object."""
        item = get_nullable_type(field_def.type)
        leaves = plain_leaves(item)
        keys = []
        for response_name, name, sub_def, _ in self._fields(executor, item, details):
            if name == "__typename":
                keys.append((response_name, "__typename:" + item.name, "typename"))
                continue
            leaf = leaves.get(name)
            if leaf is None or leaf.attribute not in entry.keys:
                raise NotPlanned(f"{item.name}.{name}")
            keys.append((response_name, entry.keys[leaf.attribute], self._stored_kind(item, name, sub_def)))
        return tuple(keys)

    @staticmethod
    def _stored_kind(item: GraphQLObjectType, name: str, field_def: Any) -> str:
        """How a field of an object kept as JSON is read: its scalar's name (plain leaves only)."""
        kind = get_nullable_type(field_def.type)
        if name not in plain_leaves(item) or not isinstance(kind, GraphQLScalarType) or kind.name not in SCALARS:
            raise NotPlanned(f"{item.name}.{name}: {kind}")
        return kind.name

    # --- SQL: a shape as a JSON expression over the row alias ``row`` ---

    def node_sql(self, shape: Shape, schema: Any) -> str:
        """The compiled JSON expression of ``shape`` over the alias ``o`` of its type's table (kept per shape)."""
        found = self._compiled.get(shape)
        if found is not None:
            self._compiled.move_to_end(shape)
            return found
        table = self.model.tables[shape[0]]
        row = table.alias("o")
        # Compiled inside a SELECT from ``o`` so that the nested subqueries correlate to it (alone, each
        # would list ``o`` in its own FROM); the expression is then taken out of that SELECT.
        enclosing = select(self._object(shape, row, schema).label("node")).select_from(row)
        sql = str(enclosing.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True}))
        head, tail = "SELECT ", f" AS node \nFROM {table.name} AS o"
        if not (sql.startswith(head) and sql.endswith(tail)):
            raise NotPlanned("unexpected compiled form")
        compiled = sql[len(head) : -len(tail)]
        self._compiled[shape] = compiled
        while len(self._compiled) > MAX_SHAPES:
            self._compiled.popitem(last=False)
        return compiled

    def _sql(self, expression: Any) -> str:
        return str(expression.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True}))

    def number(self, value: Any) -> ColumnElement[Any]:
        """A float as the JSON number the response encoder (orjson) writes for it: the shortest digits that read
        back as the same float, ``.0`` on a whole number, an exponent below 1e-5 or from 1e16 on. PostgreSQL's
        float text has those digits below 1e16 (above, not always: there the statement fails, and strawberry
        answers); SQLite's has 15 at most, so there ``json_float`` (``app/db.py``) writes it."""
        if self.sqlite:
            return func.json(func.json_float(value))
        digits = cast(value, Text)  # shortest round trip (extra_float_digits > 0, the default), exponent from 1e15
        plain = cast(cast(digits, Numeric), Text)  # the same digits without an exponent
        magnitude = func.abs(value)
        rendered = case(
            (value == 0, case((digits == literal("-0", Text), literal("-0.0", Text)), else_=literal("0.0", Text))),
            # not JSON, so the cast fails (depending on the value: no constant for the planner to fold early)
            (magnitude >= literal_column("1e16"), digits.op("||")(literal(" is past what the planner writes", Text))),
            (
                magnitude < literal_column("1e-5"),
                # PostgreSQL writes two exponent digits at least (1e-06), orjson as few as needed (1e-6)
                func.replace(digits, literal("e-0", Text), literal("e-", Text)),
            ),
            (func.strpos(plain, literal(".", Text)) > 0, plain),
            else_=plain.op("||")(literal(".0", Text)),
        )
        return cast(rendered, JSON)

    def iso_instant(self, value: Any) -> ColumnElement[Any]:
        """An instant kept as ISO 8601 text in JSON (``datetime.isoformat()`` of a UTC instant), as strawberry sends
        it once read back with ``datetime.fromisoformat``."""
        if not self.sqlite:
            return instant(cast(value, TIMESTAMP(timezone=True)))
        fraction = func.substr(value, 21, 6)
        return (
            func.replace(func.substr(value, 1, 19), literal(" ", Text), literal("T", Text))
            .op("||")(
                case(
                    (
                        (func.substr(value, 20, 1) == literal(".", Text)) & (fraction != literal("000000", Text)),
                        literal(".", Text).op("||")(fraction),
                    ),
                    else_=literal("", Text),
                )
            )
            .op("||")(literal("+00:00", Text))
        )

    def _json_value(self, kind: str, item: Any, key: str) -> ColumnElement[Any]:
        """The value at ``key`` of the JSON object ``item`` as strawberry renders a field of ``kind`` read from it."""
        if key.startswith("__typename:"):
            return literal(key.partition(":")[2], Text)
        if self.sqlite:
            path = literal(f"$.{key}", Text)
            found = func.json_extract(item, path)
            if kind == "Boolean":  # json_extract gives 0/1
                flag = func.json_type(item, path)
                return case(
                    (flag == literal("true", Text), func.json(literal("true", Text))),
                    (flag == literal("false", Text), func.json(literal("false", Text))),
                    else_=None,
                )
        else:
            found = item.op("->>")(literal(key, Text))
            if kind in ("String", "Int", "Boolean"):
                return item.op("->")(literal(key, Text))  # as stored
        if kind == "ID":
            return cast(found, Text)
        if kind == "Float":
            return self.number(found if self.sqlite else cast(found, Float))
        if kind == "DateTime":
            return self.iso_instant(found)
        return found

    def _stored_json(self, stored: StoredJson, row: Any, keys: tuple[tuple[str, str, str], ...]) -> Any:
        """A ``StoredJson`` column as its GraphQL list: SQL text over the row alias (names are GraphQL names or
        keys the model gives, never request values)."""
        column = f"{row.name}.{stored.column}"
        if stored.form == "strings":
            return literal_column(f"json({column})" if self.sqlite else f"to_json({column})")

        def value(key: str, kind: str) -> str:
            if stored.form == "pairs" and not key.startswith("__typename:"):
                return f"x.{key}"
            return self._sql(self._json_value(kind, literal_column("x.value"), key))

        pairs = ", ".join(f"'{name}', {value(key, kind)}" for name, key, kind in keys)
        if self.sqlite:
            rows = f"SELECT key, value FROM json_each({column}) ORDER BY key"  # array index, or name (BINARY: code point order)
            return literal_column(f"json((SELECT json_group_array(json_object({pairs})) FROM ({rows}) AS x))")
        if stored.form == "pairs":
            source, order = f"jsonb_each_text({column}) AS x", 'x.key COLLATE "C"'
        else:
            source, order = f"jsonb_array_elements({column}) WITH ORDINALITY AS x(value, n)", "x.n"
        return literal_column(
            f"(SELECT coalesce(json_agg(json_build_object({pairs}) ORDER BY {order}), '[]'::json) FROM {source})"
        )

    def _entry(self, entry: JsonEntry, row: Any, keys: tuple[tuple[str, str, str], ...]) -> Any:
        """A ``JsonEntry``: the object built from the entry, null when there is no row or the entry is not an object."""
        child = self._alias(entry.table)
        key = cast(entry.key(row), Text)
        found: Any
        if self.sqlite:
            path = literal('$."', Text).op("||")(key).op("||")(literal('"', Text))
            found = literal_column(f"({self._sql(func.json_extract(child.c[entry.column], path))})")
            is_object = func.json_type(found) == literal("object", Text)
        else:
            found = literal_column(f"({self._sql(child.c[entry.column].op('->')(key))})")
            is_object = func.jsonb_typeof(found) == literal("object", Text)
        pairs: list[Any] = []
        for name, stored_key, kind in keys:
            pairs += [literal(name, Text), self._json_value(kind, found, stored_key)]
        obj = func.json_object(*pairs) if self.sqlite else func.json_build_object(*pairs)
        value = select(case((is_object, obj), else_=None)).where(*entry.where(row, child)).correlate(row).scalar_subquery()
        return func.json(value) if self.sqlite else value

    def as_text(self, sql: str) -> str:
        """A compiled node expression as a text column of the enclosing statement."""
        return f"({sql})" if self.sqlite else f"({sql})::text"

    def _alias(self, table: Table) -> Any:
        self._aliases += 1
        return table.alias(f"r{self._aliases}")

    def _object(self, shape: Shape, row: Any, schema: Any) -> ColumnElement[Any]:
        type_name, entries = shape
        pairs: list[Any] = []
        for entry in entries:
            pairs += [literal(entry[0], Text), self._value(type_name, entry, row, schema)]
        if len(pairs) > 2 * JSON_PAIRS:
            raise NotPlanned("too many fields for json_build_object")
        return func.json_object(*pairs) if self.sqlite else func.json_build_object(*pairs)

    def _list(self, item: Any, order: Sequence[Any], where: Sequence[ColumnElement[bool]], row: Any, parse: bool) -> Any:
        """The JSON array of ``item`` over the rows ``where`` selects, in ``order`` (``parse``: items are JSON)."""
        if not self.sqlite:
            return (
                select(func.coalesce(func.json_agg(aggregate_order_by(item, *order)), text("'[]'::json")))
                .where(*where)
                .correlate(row)
                .scalar_subquery()
            )
        rows = select(item.label("item")).where(*where).order_by(*order).correlate(row).subquery()
        element = func.json(rows.c.item) if parse else rows.c.item
        return func.json(select(func.json_group_array(element)).select_from(rows).scalar_subquery())

    def _value(self, type_name: str, entry: tuple[Any, ...], row: Any, schema: Any) -> Any:
        kind = entry[1]
        if kind == "typename":
            return literal(entry[2], Text)
        if kind == "Boolean" and self.sqlite:
            flag = row.c[entry[2]]
            return func.json(case((flag.is_(None), None), (flag != 0, literal_column("'true'")), else_=literal_column("'false'")))
        if kind in ("String", "Int", "Boolean"):
            return row.c[entry[2]]
        if kind == "Float":
            return self.number(row.c[entry[2]])
        if kind == "ID":
            return cast(row.c[entry[2]], Text)
        if kind == "DateTime":
            return sqlite_instant(row.c[entry[2]]) if self.sqlite else instant(row.c[entry[2]])
        if kind == "enum":
            names = enum_names(schema.get_type(entry[3]))
            return case(*((row.c[entry[2]] == literal(v, Text), literal(n, Text)) for v, n in names.items()), else_=None)
        if kind == "computed":
            found: Computed = self.model.computed[(type_name, entry[2])]  # type: ignore[assignment]
            return found.value(row)
        if kind == "json":
            stored: StoredJson = self.model.computed[(type_name, entry[2])]  # type: ignore[assignment]
            return self._stored_json(stored, row, entry[3])
        if kind == "ids":
            link: IdList = self.model.relations[(type_name, entry[2])]  # type: ignore[assignment]  # an "ids" entry names an IdList relation
            child = self._alias(link.table)
            column = child.c[link.column]
            return self._list(cast(column, Text), [column], link.where(row, child), row, parse=False)
        if kind == "entry":
            map_entry: JsonEntry = self.model.relations[(type_name, entry[2])]  # type: ignore[assignment]  # an "entry" entry names a JsonEntry
            return self._entry(map_entry, row, entry[3])
        relation: Relation = self.model.relations[(type_name, entry[2])]  # type: ignore[assignment]  # a "relation" entry names a Relation
        sub_shape = entry[3]
        child = self._alias(self.model.tables[relation.target])
        obj = self._object(sub_shape, child, schema)
        if relation.many:
            return self._list(obj, relation.order(child), relation.where(row, child), row, parse=True)
        first = (
            select(obj)
            .where(*relation.where(row, child))
            .order_by(*relation.order(child))
            .limit(1)
            .correlate(row)
            .scalar_subquery()
        )
        return func.json(first) if self.sqlite else first


@dataclass
class PlannedRoot:
    """One root field's statement and how its rows become the field's value."""

    statement: Any
    finish: Callable[[list[Any], Any], Awaitable[Any]]  # (rows, session) -> the value; may read once more (rare)


RootReader = Callable[[Planner, Any, GraphQLObjectType, str, Any], PlannedRoot]
"""(planner, executor, root type, field name, field details) -> the planned root field; raises NotPlanned."""


def loads(node: str | None) -> Any:
    """A node's JSON as the database built it, kept encoded: orjson writes it into the response as is
    (parsing and encoding it again would be most of the request's CPU)."""
    return None if node is None else orjson.Fragment(node)


class ReadPlanner:
    """What the executor asks: can this query's root selection be answered by planned statements?"""

    def __init__(self, model: ReadModel, roots: dict[str, RootReader], sqlite_dialect: bool = False) -> None:
        self.planner = Planner(model, sqlite_dialect)
        self.roots = roots
        self.answered = 0  # operations answered by planned statements (for tests and curiosity)

    def plan(
        self, executor: Any, root_type: GraphQLObjectType, grouped_field_set: Any
    ) -> Callable[[Any], Awaitable[dict[str, Any]]] | None:
        """A coroutine function answering the whole root selection, or None (strawberry executes it)."""
        planned: list[tuple[str, PlannedRoot | str]] = []
        try:
            for response_name, details in grouped_field_set.items():
                node = details[0].node
                if any(d.node.directives for d in details):
                    return None
                name = node.name.value
                if name == "__typename":
                    planned.append((response_name, root_type.name))
                    continue
                reader = self.roots.get(name)
                if reader is None:
                    return None
                planned.append((response_name, reader(self.planner, executor, root_type, name, details)))
        except NotPlanned as exc:
            log.debug("not planned: %s", exc)
            return None
        except Exception:  # bad input or a refusal: the ordinary execution reports it
            log.debug("not planned", exc_info=True)
            return None

        async def run(db: Any) -> dict[str, Any]:
            data: dict[str, Any] = {}
            async with db.read() as session:
                for response_name, root in planned:
                    if isinstance(root, str):
                        data[response_name] = root
                    else:
                        data[response_name] = await root.finish(list(await session.execute(root.statement)), session)
            self.answered += 1
            return data

        return run
