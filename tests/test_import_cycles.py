"""No import cycles among the modules of app/, read with ast (the code is not run): the module-level
imports (those under ``if TYPE_CHECKING:`` included: a type is a dependency too) form no cycle at all,
and the imports inside functions added hide none either."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

# strawberry.lazy between the two domains' GraphQL types: each names the other's type for annotations
# only (under TYPE_CHECKING) and strawberry resolves it when the schema is built. Allowed.
ALLOWED = [frozenset({"app.orders.graphql.types", "app.party_orders.graphql.types"})]


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported (in ``if``/``try`` blocks too), not inside functions or classes."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            todo.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            todo.extend(node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body])
    return found


def every_import(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    return [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]


def import_graph(
    imports: Callable[[ast.Module], list[ast.Import | ast.ImportFrom]] = module_level_imports,
) -> dict[str, set[str]]:
    """Module -> the app modules it imports at module level (``from a import b`` counts ``a.b`` when
    that is a module, else ``a``; a package's ``__init__`` counts as the package)."""
    modules = {module_name(p): p for p in APP.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_and_ignores_a_chain() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_import_graph_sees_the_app_imports() -> None:
    graph = import_graph()
    assert {"app.config", "app.components", "app.state"} <= graph["app.main"]
    assert graph["app.events"] & {"app.db", "app.columns"} == {"app.columns"}
    assert "app.models" in import_graph(every_import)["app.db"]  # create_all's import inside the function


def _described(found: list[frozenset[str]]) -> str:
    return "import cycles:\n" + "\n".join(" <-> ".join(sorted(c)) for c in found)


def test_app_has_no_import_cycles_among_module_level_imports() -> None:
    found = cycles(import_graph())
    assert [c for c in found if c not in ALLOWED] == [], _described(found)


def test_imports_inside_functions_hide_no_cycle() -> None:
    found = cycles(import_graph(every_import))
    assert [c for c in found if c not in ALLOWED] == [], _described(found)
