"""The package's import graph has no cycle (layers import one way), and docs/architecture.md
names every module.

Edges come from the source (``ast``), not from what happens to be imported: imports at
module level and inside functions (an import moved into a function only hides a cycle),
under ``TYPE_CHECKING`` too, and the package ``__init__`` that importing a module of
another package runs first. A package's own ``__init__`` re-exporting its modules is the
one edge left out (Python's usual idiom: the modules never import their package back).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = "cache_admin"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if "migrations" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The package's modules an import statement names: ``from a import b`` is module
    ``a.b`` when b is a module, else a name of module ``a``."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".") if is_package else module.split(".")[:-1]
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, *([base] if base else [])])
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
            for alias in node.names
        ]
    else:
        return set()
    found = set()
    for name in names:
        while name and name not in known:  # a name inside a module: that module
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for module, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            for target in _imported(node, module, path.name == "__init__.py", set(known)):
                graph[module].add(target)
                # Importing a module first runs the __init__ of every package around it
                # that the importer is not itself inside.
                outside = _ancestors(target) - _ancestors(module) - {module}
                graph[module] |= {p for p in outside if p in known}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_imports_have_no_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_graph_sees_what_hides_a_cycle() -> None:
    graph = import_graph()
    # A function-level import is an edge (policy reads its overrides through the model).
    assert "cache_admin.models" in graph["cache_admin.policy"]
    # So is the package __init__ an import runs: caching reaches the invalidation package.
    assert "cache_admin.invalidation" in graph["cache_admin.caching.attribute"]
    # And a cycle is named, start to end.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        ("cache_admin.models", "cache_admin.invalidation"),  # a constant, in queued.py
        ("cache_admin.decoding", "cache_admin.caching"),  # the lease marker, in lease.py
        ("cache_admin.invalidation.invalidator", "cache_admin.caching"),
        ("cache_admin.warming.dispatch", "cache_admin.warming.tasks"),  # sent by name
    ],
)
def test_lower_layers_do_not_import_higher_ones(importer: str, forbidden: str) -> None:
    graph = import_graph()
    reachable, todo = set(), [importer]
    while todo:
        for nxt in graph[todo.pop()] - reachable:
            reachable.add(nxt)
            todo.append(nxt)
    assert not {m for m in reachable if m == forbidden or m.startswith(forbidden + ".")}


def test_the_architecture_page_names_every_module() -> None:
    page = (ROOT.parent / "docs" / "architecture.md").read_text()
    names = {name.rpartition(".")[2] for name in modules()} - {PACKAGE}
    missing = sorted(name for name in names if not re.search(rf"\b{name}\b", page))
    assert not missing, f"docs/architecture.md does not name: {missing}"
