"""One lock order for stock: the locks modules spell every row lock, and each stock service takes
the whole set of stock rows it needs in one statement, ordered by pk (see inventory/locks.py).

The static half reads the source: no module that touches stock spells select_for_update (or
FOR UPDATE in raw SQL), and no module but inventory/locks.py locks stock rows, reservations or
inbound shipments. The runtime half calls each stock service once and counts the stock lock
statements it issues: one, holding every row the service reads or writes (on PostgreSQL it
also reads the SQL). A service that locks rows one by one, or locks what it gives back and
then what it takes, fails here; tests/inventory/test_lock_order_postgres.py shows the deadlock
such a service meets, and tests/stress/ runs them all at once.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import locks
from inventory.allocation import AllocationPolicy, DemandLine, ShipTo, allocation_apply, allocation_release
from inventory.models import MovementReason, Reservation, StockLevel
from inventory.services import (
    inbound_cancel,
    inbound_create,
    inbound_receive,
    reservation_create,
    reservation_release,
    reservations_expire,
    stock_adjust,
    stock_count,
    stock_receive,
    stock_restock,
    stock_ship,
    stock_transfer,
)
from orders.models import Allocation
from orders.services import (
    LineInput,
    order_allocate,
    order_cancel,
    order_create,
    order_edit,
    order_hold,
    order_reallocate,
    order_record_shipment,
    order_release,
    orders_allocate_backorders,
)
from tests.inventory.conftest import AUSTIN
from tests.orders.conftest import order_input, stocked  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
APPS = ("oms", "inventory", "orders", "fulfillment", "returns", "integrations")
STOCK_NAMES = {"StockLevel", "Reservation", "ReservationLine", "InboundShipment", "InboundLine"}
STOCK_MODULES = ("inventory.services", "inventory.allocation", "inventory.locks", "inventory.models")


# --- static: who may spell a row lock ----------------------------------------------------------
def _modules() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and path.name != "locks.py"
    )


def _touches_stock(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in STOCK_MODULES:
            return True
        if isinstance(node, ast.Import) and any(alias.name in STOCK_MODULES for alias in node.names):
            return True
    return False


def _root_name(node: ast.AST) -> str:
    """The name a call chain starts from: StockLevel in StockLevel.objects.filter(...)."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else "?"


def _row_locks(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for every select_for_update call and every raw SQL row lock."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "select_for_update":
            found.append((node.lineno, f"select_for_update on {_root_name(node.value)}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = " ".join(node.value.upper().split())
            is_sql = text.startswith(("SELECT ", "WITH "))
            if is_sql and any(clause in text for clause in ("FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE")):
                found.append((node.lineno, "raw SQL row lock"))
    return found


def test_no_stock_touching_module_spells_a_row_lock_outside_the_locks_modules():
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, what in _row_locks(tree):
            locks_stock = any(name in what for name in STOCK_NAMES)
            if locks_stock or _touches_stock(tree):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert offenders == [], "lock through inventory/locks.py or orders/locks.py:\n" + "\n".join(offenders)


def test_the_static_check_sees_a_row_lock_spelled_in_a_stock_service():
    source = (
        "from inventory.models import StockLevel\n"
        "def f(t):\n"
        "    return StockLevel.objects.for_tenant(t).select_for_update().get(pk=1)\n"
    )
    tree = ast.parse(source)
    assert _touches_stock(tree)
    assert _row_locks(tree) == [(3, "select_for_update on StockLevel")]
    assert _row_locks(ast.parse("SQL = 'SELECT id FROM inventory_stocklevel FOR UPDATE'")) == [
        (1, "raw SQL row lock")
    ]


def test_only_inventory_locks_spells_a_stock_row_lock():
    source = (ROOT / "inventory" / "locks.py").read_text()
    assert source.count(".select_for_update(") == 1  # in _for_update, used by every lock there
    assert 'order_by("pk")' in source


# --- runtime: one ordered statement per service ----------------------------------------------------
@pytest.fixture
def stock_locks(monkeypatch):
    """Every stock lock statement issued, as the set of row pks it locked."""
    statements: list[set[int]] = []
    real = locks._lock_stock

    def spy(qs):
        rows = real(qs)
        statements.append({row["pk"] if isinstance(row, dict) else row.pk for row in rows})
        return rows

    monkeypatch.setattr(locks, "_lock_stock", spy)
    return statements


@pytest.fixture
def env(tenant_a, stocked, sku_a, sku_b):  # noqa: F811
    """W1 NJ, W2 LA, W3 Dallas; SKU-123: W2 5, W3 10; SKU-456: W1 4 (tests/orders/conftest.py)."""
    w1, w2, w3 = stocked
    return SimpleNamespace(t=tenant_a, w1=w1, w2=w2, w3=w3, a=sku_a, b=sku_b)


def _rows(env, *skus) -> set[int]:
    return set(StockLevel.objects.for_tenant(env.t).filter(sku__in=skus).values_list("pk", flat=True))


def _order(env, external_id, lines):
    data = order_input(external_id)
    data.lines = [LineInput(sku=sku, quantity=qty, unit_price=Decimal("9.99")) for sku, qty in lines]
    return order_create(tenant=env.t, data=data)[0]


def _allocated_rows(order) -> set[int]:
    return set(
        Allocation.objects.for_tenant(order.tenant_id)
        .filter(order_line__order=order)
        .values_list("stock_level_id", flat=True)
    )


def _stock_ship(env):
    picks = sorted((pk, 1) for pk in _allocated_rows(_order(env, "S", [("SKU-123", 1), ("SKU-456", 1)])))
    return lambda: stock_ship(tenant=env.t, picks=picks), {pk for pk, _ in picks}


def _inbound_two_skus(env):
    shipment = inbound_create(tenant=env.t, warehouse_id=env.w1.pk, lines=[(env.b.pk, 2), (env.a.pk, 3)])
    at_w1 = StockLevel.objects.for_tenant(env.t).filter(warehouse=env.w1, sku__in=[env.a, env.b])
    # SKU-123's row in W1 is created by the receipt, then locked with SKU-456's
    return lambda: inbound_receive(tenant=env.t, shipment_id=shipment.pk), lambda: set(
        at_w1.values_list("pk", flat=True)
    )


def _inbound_cancel_transfer(env):
    _, shipment = stock_transfer(
        tenant=env.t,
        sku_id=env.a.pk,
        from_warehouse_id=env.w3.pk,
        to_warehouse_id=env.w1.pk,
        quantity=2,
        in_transit=True,
    )
    return lambda: inbound_cancel(tenant=env.t, shipment_id=shipment.pk), None


def _reservation(env, ttl=600):
    return reservation_create(
        tenant=env.t,
        lines=[(env.a.pk, 1), (env.b.pk, 1)],
        ship_to=ShipTo(country="US", postal_code=AUSTIN),
        ttl_seconds=ttl,
    )


def _reservation_release(env):
    reservation = _reservation(env)
    return lambda: reservation_release(tenant=env.t, reservation_id=reservation.pk), None


def _order_with_reservation(env):
    reservation = _reservation(env)
    data = order_input("RES", reservation=reservation.pk)
    data.lines = [
        LineInput(sku="SKU-123", quantity=1, unit_price=Decimal("9.99")),
        LineInput(sku="SKU-456", quantity=1, unit_price=Decimal("9.99")),
    ]
    return lambda: order_create(tenant=env.t, data=data), _rows(env, env.a, env.b)


def _allocation_apply_with_expired_reservation(env):
    reservation = _reservation(env)
    Reservation.objects.for_tenant(env.t).filter(pk=reservation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    return (
        lambda: allocation_apply(
            tenant=env.t,
            lines=[DemandLine("x", env.a.pk, 2)],
            ship_to=ShipTo(country="US", postal_code=AUSTIN),
            policy=AllocationPolicy(),
        ),
        _rows(env, env.a, env.b),  # the expired reservation's SKU-456 row comes along
    )


def _allocation_release(env):
    plan = allocation_apply(
        tenant=env.t,
        lines=[DemandLine("x", env.a.pk, 2)],
        ship_to=ShipTo(country="US", postal_code=AUSTIN),
        policy=AllocationPolicy(),
    )
    picks = [(p.stock_level_id, p.quantity) for p in plan.picks]
    return lambda: allocation_release(tenant=env.t, picks=picks), {pk for pk, _ in picks}


def _reallocate(env):
    order = _order(env, "REALLOC", [("SKU-123", 2)])
    return lambda: order_reallocate(tenant=env.t, order_id=order.pk), _allocated_rows(order) | _rows(
        env, env.a
    )


def _edit_to_another_sku(env):
    """The rows given back (SKU-123) and the rows taken (SKU-456) in one statement."""
    order = _order(env, "EDIT", [("SKU-123", 2)])
    old = _allocated_rows(order)
    new_lines = [LineInput(sku="SKU-456", quantity=1, unit_price=Decimal("9.99"))]
    return lambda: order_edit(tenant=env.t, order_id=order.pk, lines=new_lines), old | _rows(env, env.b)


def _edit_while_held(env):
    order = _order(env, "EDIT-HELD", [("SKU-123", 2)])
    order_hold(tenant=env.t, order_id=order.pk, reason="check")
    new_lines = [LineInput(sku="SKU-123", quantity=1, unit_price=Decimal("9.99"))]
    return lambda: order_edit(tenant=env.t, order_id=order.pk, lines=new_lines), _allocated_rows(order)


def _cancel(env):
    order = _order(env, "CANCEL", [("SKU-123", 2), ("SKU-456", 1)])
    return lambda: order_cancel(tenant=env.t, order_id=order.pk), _allocated_rows(order)


def _ship(env):
    order = _order(env, "SHIP", [("SKU-123", 2), ("SKU-456", 1)])
    return (
        lambda: order_record_shipment(tenant=env.t, order_id=order.pk, reference="shp-1"),
        _allocated_rows(order),
    )


def _allocate_backorder(env):
    order = _order(env, "BACK", [("SKU-456", 6)])  # 4 in stock: 2 backordered
    stock_receive(tenant=env.t, sku_id=env.b.pk, warehouse_id=env.w2.pk, quantity=3)
    return lambda: order_allocate(tenant=env.t, order_id=order.pk), _rows(env, env.b)


def _release_hold(env):
    data = order_input("HELD", holds=[("manual", "check")])
    order = order_create(tenant=env.t, data=data)[0]
    return lambda: order_release(tenant=env.t, order_id=order.pk), _rows(env, env.a)


# service -> setup(env) returning (the call, rows its one statement must hold or None)
ONE_STATEMENT: dict[str, Callable] = {
    "stock_receive into a new row": lambda env: (
        lambda: stock_receive(tenant=env.t, sku_id=env.a.pk, warehouse_id=env.w1.pk, quantity=3),
        None,
    ),
    "stock_adjust": lambda env: (
        lambda: stock_adjust(tenant=env.t, sku_id=env.a.pk, warehouse_id=env.w2.pk, delta=-1),
        None,
    ),
    "stock_adjust as a count": lambda env: (
        lambda: stock_adjust(
            tenant=env.t,
            sku_id=env.a.pk,
            warehouse_id=env.w2.pk,
            on_hand=7,
            reason=MovementReason.COUNT,
        ),
        None,
    ),
    "stock_count": lambda env: (
        lambda: stock_count(tenant=env.t, sku_id=env.a.pk, warehouse_id=env.w3.pk, counted=12),
        None,
    ),
    "stock_transfer into a new row": lambda env: (
        lambda: stock_transfer(
            tenant=env.t, sku_id=env.a.pk, from_warehouse_id=env.w3.pk, to_warehouse_id=env.w1.pk, quantity=2
        ),
        None,
    ),
    "stock_transfer in transit": lambda env: (
        lambda: stock_transfer(
            tenant=env.t,
            sku_id=env.a.pk,
            from_warehouse_id=env.w3.pk,
            to_warehouse_id=env.w2.pk,
            quantity=2,
            in_transit=True,
        ),
        None,
    ),
    "stock_ship": _stock_ship,
    "stock_restock": lambda env: (
        lambda: stock_restock(tenant=env.t, sku_id=env.b.pk, warehouse_id=env.w3.pk, quantity=1),
        None,
    ),
    "inbound_receive of two SKUs": _inbound_two_skus,
    "inbound_cancel of a transfer": _inbound_cancel_transfer,
    "reservation_create": lambda env: (lambda: _reservation(env), _rows(env, env.a, env.b)),
    "reservation_release": _reservation_release,
    "allocation_apply with an expired reservation": _allocation_apply_with_expired_reservation,
    "allocation_release": _allocation_release,
    "order_create with a reservation": _order_with_reservation,
    "order_create": lambda env: (lambda: _order(env, "NEW", [("SKU-123", 1), ("SKU-456", 1)]), None),
    "order_allocate": _allocate_backorder,
    "order_release of a hold": _release_hold,
    "order_reallocate": _reallocate,
    "order_edit to another SKU": _edit_to_another_sku,
    "order_edit while on hold": _edit_while_held,
    "order_cancel": _cancel,
    "order_record_shipment": _ship,
}


@pytest.mark.parametrize("service", list(ONE_STATEMENT))
def test_a_stock_service_locks_its_stock_rows_in_one_ordered_statement(env, stock_locks, service):
    call, must_hold = ONE_STATEMENT[service](env)
    stock_locks.clear()

    with CaptureQueriesContext(connection) as queries:
        call()

    assert len(stock_locks) == 1, f"{service} issued {len(stock_locks)} stock lock statements"
    if callable(must_hold):
        must_hold = must_hold()
        assert len(must_hold) == 2
    if must_hold is not None:
        assert must_hold <= stock_locks[0]
    if connection.vendor == "postgresql":
        sql = [
            q["sql"]
            for q in queries.captured_queries
            if "FOR " in q["sql"] and "inventory_stocklevel" in q["sql"]
        ]
        stock_sql = [s for s in sql if s.split(" FROM ", 1)[1].startswith('"inventory_stocklevel"')]
        assert len(stock_sql) == 1, stock_sql
        # ordered by the pk (column 1 when read as plain rows), the rows locked as they come
        assert re.search(
            r'ORDER BY ("inventory_stocklevel"\."id"|1) ASC FOR NO KEY UPDATE OF "inventory_stocklevel"$',
            stock_sql[0].rstrip(),
        )


def test_the_expiry_sweep_locks_each_reservation_s_rows_once(env, stock_locks):
    first, second = _reservation(env), _reservation(env)
    Reservation.objects.for_tenant(env.t).update(expires_at=timezone.now() - timedelta(seconds=1))
    stock_locks.clear()

    assert reservations_expire(tenant=env.t) == 2

    assert len(stock_locks) == 2  # one transaction, one statement, per reservation
    assert first.pk != second.pk


def test_the_backorder_sweep_locks_once_per_order(env, stock_locks):
    _order(env, "B1", [("SKU-456", 3)])
    _order(env, "B2", [("SKU-456", 3)])  # 4 in stock: 2 backordered here
    _order(env, "B3", [("SKU-456", 1)])  # 1 backordered
    stock_receive(tenant=env.t, sku_id=env.b.pk, warehouse_id=env.w1.pk, quantity=3)
    stock_locks.clear()

    assert orders_allocate_backorders(tenant=env.t, sku_ids=[env.b.pk]) == 2

    assert len(stock_locks) == 2
