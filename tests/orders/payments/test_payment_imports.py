"""Imports run one way: order services enqueue payment tasks by name; no import hides in a function."""

from __future__ import annotations

import ast
from pathlib import Path

import orders

ORDERS = Path(orders.__file__).parent


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level?) for every import in the file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in top))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in top) for alias in node.names)
    return found


def test_order_services_do_not_import_payments_or_tasks():
    modules = [module for module, _ in _imports(ORDERS / "services.py")]
    assert [m for m in modules if m.startswith(("orders.payment", "orders.tasks"))] == []


def test_payments_and_tasks_import_nothing_inside_a_function():
    files = [ORDERS / "services.py", ORDERS / "tasks.py", *sorted((ORDERS / "payments").glob("*.py"))]
    hidden = [(path.name, module) for path in files for module, top in _imports(path) if not top]
    assert hidden == []


def test_tasks_do_not_import_everything_from_another_module():
    tree = ast.parse((ORDERS / "tasks.py").read_text())
    stars = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.names[0].name == "*"]
    assert stars == []
