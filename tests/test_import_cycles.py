"""No import hidden inside a function closes an import cycle (imports run one way, DESIGN.md).

A function-level import is sometimes right (an AppConfig.ready, a settings-time hook), but one
that closes a cycle hides a dependency running the wrong way: enqueue the task by name
(`enqueue_on_commit("app.tasks.x_task", ...)`) or move the code to the room it belongs to.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("oms", "inventory", "orders", "fulfillment", "returns", "integrations", "workspace")


def _modules() -> dict[str, Path]:
    found = {}
    for room in ROOMS:
        for path in (ROOT / room).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _graph(modules: dict[str, Path]) -> tuple[dict[str, set[str]], set[tuple[str, str]]]:
    """Every module's imports of our modules, and which of those edges sit inside a function."""

    def resolve(name: str) -> str | None:
        parts = name.split(".")
        while parts:
            if ".".join(parts) in modules:
                return ".".join(parts)
            parts.pop()
        return None

    edges: dict[str, set[str]] = {name: set() for name in modules}
    hidden: set[tuple[str, str]] = set()
    for name, path in modules.items():

        def visit(node: ast.AST, in_function: bool, name: str = name) -> None:
            for child in ast.iter_child_nodes(node):
                inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                targets: list[str | None] = []
                if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                    targets = [
                        resolve(f"{child.module}.{a.name}") or resolve(child.module) for a in child.names
                    ]
                elif isinstance(child, ast.Import):
                    targets = [resolve(a.name) for a in child.names]
                for target in targets:
                    if target and target != name:
                        edges[name].add(target)
                        if inside:
                            hidden.add((name, target))
                visit(child, inside)

        visit(ast.parse(path.read_text()), False)
        parts = name.split(".")
        edges[name].update(
            ".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in modules
        )
    return edges, hidden


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(edges.get(node, ()))
    return False


def test_no_import_inside_a_function_closes_a_cycle():
    edges, hidden = _graph(_modules())
    cycles = sorted(
        f"{source} -> {target} (inside a function) -> ... -> {source}"
        for source, target in hidden
        if _reaches(edges, target, source)
    )
    assert cycles == []
