"""Which schema changes break the front-end contract.

graphql-core's ``find_breaking_changes`` compares two whole schemas. The contract promises only what
its operations use, so the published schema is first cut down to that part: the fields the operations
select, the arguments they pass, every enum and input type they touch (whole, since a removed enum
value or a new required input field breaks a client even when today's documents do not name it), and
the scalars. Changes to anything else (a field no operation selects, a mutation not in the contract)
are free; changes to the used part are reported exactly as graphql-core reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from graphql import (
    ArgumentNode,
    BreakingChange,
    DangerousChange,
    DefinitionNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    FieldNode,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    Node,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    UnionTypeDefinitionNode,
    VariableDefinitionNode,
    build_ast_schema,
    find_breaking_changes,
    find_dangerous_changes,
    get_named_type,
    parse,
    type_from_ast,
    visit,
)
from graphql.language import Visitor


@dataclass
class Usage:
    """The part of a schema a set of operations depends on."""

    fields: dict[str, set[str]] = field(default_factory=dict)  # type -> fields selected
    args: set[tuple[str, str, str]] = field(default_factory=set)  # (type, field, argument)
    whole: set[str] = field(default_factory=set)  # enums, inputs, scalars, unions, interfaces

    def add_type(self, schema: GraphQLSchema, named: GraphQLNamedType | None) -> None:
        if named is None or named.name in self.whole:
            return
        if isinstance(named, GraphQLObjectType):
            self.fields.setdefault(named.name, set())
            for interface in named.interfaces:
                self.add_type(schema, interface)
            return
        self.whole.add(named.name)
        if isinstance(named, GraphQLInputObjectType):
            for f in named.fields.values():
                self.add_type(schema, get_named_type(f.type))
        elif isinstance(named, (GraphQLUnionType, GraphQLInterfaceType)):
            for member in schema.get_possible_types(named):
                self.add_type(schema, member)


N = TypeVar("N", bound=Node)


def usage(schema: GraphQLSchema, document: DocumentNode) -> Usage:
    """What ``document`` uses of ``schema`` (parts the schema lacks are new, so they are skipped)."""
    used = Usage()
    info = TypeInfo(schema)

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            parent, definition = info.get_parent_type(), info.get_field_def()
            if parent is None or definition is None or node.name.value.startswith("__"):
                return
            used.add_type(schema, parent)
            if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
                used.fields.setdefault(parent.name, set()).add(node.name.value)
            used.add_type(schema, get_named_type(definition.type))

        def enter_argument(self, node: ArgumentNode, *_: object) -> None:
            parent, definition, argument = info.get_parent_type(), info.get_field_def(), info.get_argument()
            if parent is None or definition is None or argument is None:
                return
            field_name = next(k for k, v in parent.fields.items() if v is definition)  # type: ignore[union-attr]  # an argument's parent is an object or interface type
            used.args.add((parent.name, field_name, node.name.value))
            used.add_type(schema, get_named_type(argument.type))

        def enter_variable_definition(self, node: VariableDefinitionNode, *_: object) -> None:
            found = type_from_ast(schema, node.type)
            used.add_type(schema, get_named_type(found) if found else None)

    visit(document, TypeInfoVisitor(info, Collect()))
    return used


def _copy(node: N, **changes: object) -> N:
    values = {k: getattr(node, k) for k in node.keys}
    values.update(changes)
    return node.__class__(**values)


def restrict(sdl: str, used: Usage) -> GraphQLSchema:
    """The schema ``sdl`` cut down to ``used``."""
    definitions: list[DefinitionNode] = []
    for node in parse(sdl).definitions:
        if isinstance(node, SchemaDefinitionNode):
            definitions.append(node)
        elif isinstance(node, (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode)):
            name = node.name.value
            if name in used.fields or name in used.whole:
                keep = used.fields.get(name, set()) if name not in used.whole else {f.name.value for f in node.fields or ()}
                fields = [_field(f, name, used, name in used.whole) for f in node.fields or () if f.name.value in keep]
                interfaces = [i for i in node.interfaces or () if i.name.value in used.whole]
                definitions.append(_copy(node, fields=tuple(fields), interfaces=tuple(interfaces)))
        elif isinstance(
            node, (EnumTypeDefinitionNode, InputObjectTypeDefinitionNode, ScalarTypeDefinitionNode, UnionTypeDefinitionNode)
        ):
            if node.name.value in used.whole:
                definitions.append(node)
        else:
            definitions.append(node)
    return build_ast_schema(DocumentNode(definitions=tuple(definitions)), assume_valid=True, assume_valid_sdl=True)


def _field(node: FieldDefinitionNode, type_name: str, used: Usage, whole: bool) -> FieldDefinitionNode:
    if whole:
        return node
    args = [a for a in node.arguments or () if (type_name, node.name.value, a.name.value) in used.args]
    return _copy(node, arguments=tuple(args))


def contract_changes(
    published_sdl: str, current_sdl: str, document: DocumentNode
) -> tuple[list[BreakingChange], list[DangerousChange]]:
    """Breaking and dangerous changes from the published schema to the current one, as far as ``document`` uses it."""
    published = build_ast_schema(parse(published_sdl))
    old = restrict(published_sdl, usage(published, document))
    new = build_ast_schema(parse(current_sdl))
    return find_breaking_changes(old, new), find_dangerous_changes(old, new)
