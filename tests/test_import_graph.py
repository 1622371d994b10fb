"""No import cycles between the modules of ``src/chatconduit``.

Every import statement counts: at module level, inside functions, and under
``if TYPE_CHECKING:`` (a cycle the interpreter never runs into is still a cycle for the
reader, for mypy, and for the next refactoring). The graph is read from the source with
:mod:`ast`, not by importing anything.

An edge goes from a module to the module an import names: ``from .x import y`` is an
edge to ``<package>.x.y`` when that is a module, else to ``<package>.x``; ``import a.b``
is an edge to ``a.b``. The parent packages that Python imports first (``import a.b``
runs ``a/__init__.py``) are not edges: a package ``__init__`` importing its own
submodules is fine, and a submodule is not in a cycle with its package merely by being
in it. A submodule that imports a *name* from its own package's ``__init__`` (which
imports the submodule) is a cycle, and is reported.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator, Mapping
from itertools import pairwise
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "chatconduit"

# Cycles that exist today outside the scope of the change that added this test, each as
# the set of modules of its strongly connected component. Empty this as they are fixed.
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the first import}


def _modules(src: Path = SRC) -> dict[str, Path]:
    """Every module under ``src/chatconduit``: its dotted name -> its file."""
    found: dict[str, Path] = {}
    for path in sorted((src / ROOT).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(
    tree: ast.AST, module: str, is_package: bool, modules: Mapping[str, Path]
) -> Iterator[tuple[str, int]]:
    """``(imported module, line)`` for every import of ``tree`` that names one of ``modules``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in modules:
                    yield submodule, node.lineno
                elif target in modules:
                    yield target, node.lineno


def _graph(src: Path = SRC) -> Graph:
    modules = _modules(src)
    graph: Graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges: dict[str, int] = {}
        for target, line in _imports(tree, module, is_package, modules):
            if target != module:
                edges.setdefault(target, line)
        graph[module] = edges
    return graph


def _components(graph: Graph) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, {}):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            members = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.add(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(frozenset(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _shortest_cycle(graph: Graph, start: str, within: frozenset[str]) -> list[str]:
    """The shortest import path from ``start`` back to itself inside one component."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for succ in sorted(graph[node]):
            if succ not in within:
                continue
            if succ == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if succ not in previous:
                previous[succ] = node
                queue.append(succ)
    raise AssertionError(f"{start} is not on a cycle")  # pragma: no cover


def _describe(graph: Graph, component: frozenset[str]) -> str:
    """Every module's shortest cycle in the component, as import paths with line numbers."""
    cycles: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for start in sorted(component):
        cycle = _shortest_cycle(graph, start, component)
        smallest = min(range(len(cycle) - 1), key=lambda i: cycle[i])
        key = tuple(cycle[smallest:-1] + cycle[:smallest])  # the same cycle, any rotation
        if key not in seen:
            seen.add(key)
            cycles.append(cycle)
    lines = [f"cycle between {len(component)} modules: {', '.join(sorted(component))}"]
    for cycle in cycles:
        steps = [f"{a} (line {graph[a][b]})" for a, b in pairwise(cycle)]
        lines.append("    " + " -> ".join([*steps, cycle[-1]]))
    return "\n".join(lines)


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    """Module level, function level, TYPE_CHECKING, relative at any depth, absolute."""
    package = tmp_path / ROOT
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .a import A\n")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import chatconduit.b\n"
        "if TYPE_CHECKING:\n"
        "    from .sub.c import C\n"
        "A = 1\n"
    )
    (package / "b.py").write_text("def f():\n    from . import a\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "c.py").write_text(
        "from .. import b\nfrom ..sub import d\nfrom os import path\n"
    )
    (package / "sub" / "d.py").write_text("from chatconduit import A\n")
    graph = _graph(tmp_path)
    assert graph == {
        "chatconduit": {"chatconduit.a": 1},
        "chatconduit.a": {"chatconduit.b": 2, "chatconduit.sub.c": 4},
        "chatconduit.b": {"chatconduit.a": 2},
        "chatconduit.sub": {},
        "chatconduit.sub.c": {"chatconduit.b": 1, "chatconduit.sub.d": 2},
        "chatconduit.sub.d": {"chatconduit": 1},
    }
    assert sorted(map(sorted, _components(graph))) == [
        ["chatconduit", "chatconduit.a", "chatconduit.b", "chatconduit.sub.c", "chatconduit.sub.d"]
    ]
    assert "chatconduit.a (line 2) -> chatconduit.b (line 2) -> chatconduit.a" in _describe(
        graph, _components(graph)[0]
    )


def test_there_is_no_import_cycle() -> None:
    graph = _graph()
    assert "chatconduit._connection._stream_run" in graph  # the scan found the package
    new = [c for c in _components(graph) if c not in KNOWN_CYCLES]
    if new:
        pytest.fail("import cycles:\n" + "\n".join(_describe(graph, c) for c in new))


def test_the_known_cycles_still_exist() -> None:
    """A cycle that was fixed must leave the allow-list, so that it cannot come back."""
    components = set(_components(_graph()))
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in components]
    assert not gone, f"no longer (exactly) a cycle, update KNOWN_CYCLES: {gone}"
