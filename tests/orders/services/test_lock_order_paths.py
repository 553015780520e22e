"""Paths that lock stock twice in one transaction keep the house order (inventory/locks.py).

The test settings turn the lock-order guard on: a transaction that locks a stock row below one
it already holds raises LockOrderViolation, so each test fails on the path it names if the
second lock takes a row the first statement did not.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from inventory.allocation import ShipTo
from inventory.models import Reservation, StockLevel
from inventory.services import reservation_create, stock_receive
from orders.models import Order
from orders.services import order_create
from tests.inventory.factories import stock
from tests.orders.conftest import order_input

AUSTIN = ShipTo(country="US", postal_code="78701")


def _state(tenant, order):
    return Order.objects.for_tenant(tenant).get(pk=order.pk).state


def _rows_b_then_a(tenant, warehouse, sku_a, sku_b):
    """One unit of each; SKU-456's row is created first, so it has the lower pk."""
    row_b = stock(tenant, sku_b, warehouse, 1)
    row_a = stock(tenant, sku_a, warehouse, 1)
    assert row_b.pk < row_a.pk
    return row_a, row_b


def test_serving_an_older_backorder_locks_an_expired_reservations_other_rows_up_front(
    tenant_a, warehouses, sku_a, sku_b
):
    row_a, row_b = _rows_b_then_a(tenant_a, warehouses[0], sku_a, sku_b)
    held = reservation_create(tenant=tenant_a, lines=[(sku_a.pk, 1), (sku_b.pk, 1)], ship_to=AUSTIN)
    old, _ = order_create(tenant=tenant_a, data=order_input("OLD"))  # 2 of SKU-123: all held
    assert old.state == "backordered"
    Reservation.objects.for_tenant(tenant_a).filter(pk=held.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    stock_receive(tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=warehouses[0].pk, quantity=2)

    # The new order serves OLD first; OLD's allocation expires the reservation, which holds
    # a SKU-456 row (lower pk) besides SKU-123's.
    new, _ = order_create(tenant=tenant_a, data=order_input("NEW", [_line("SKU-123", 1)]))

    assert (_state(tenant_a, old), _state(tenant_a, new)) == ("allocated", "allocated")
    assert Reservation.objects.for_tenant(tenant_a).get(pk=held.pk).state == "expired"
    row_a.refresh_from_db()
    row_b.refresh_from_db()
    assert (row_a.on_hand, row_a.allocated, row_a.reserved) == (3, 3, 0)
    assert (row_b.on_hand, row_b.allocated, row_b.reserved) == (1, 0, 0)


def test_an_order_consuming_its_reservation_after_serving_backorders_locks_all_its_rows_up_front(
    tenant_a, warehouses, sku_a, sku_b
):
    _rows_b_then_a(tenant_a, warehouses[0], sku_a, sku_b)
    held = reservation_create(
        tenant=tenant_a, lines=[(sku_a.pk, 1), (sku_b.pk, 1)], ship_to=AUSTIN, ttl_seconds=600
    )
    old, _ = order_create(tenant=tenant_a, data=order_input("OLD"))
    assert old.state == "backordered"
    stock_receive(tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=warehouses[0].pk, quantity=2)

    # Serving OLD locks SKU-123's rows; the checkout reservation also holds a SKU-456 row.
    new, _ = order_create(
        tenant=tenant_a, data=order_input("NEW", [_line("SKU-123", 1)], reservation=held.pk)
    )

    assert (_state(tenant_a, old), _state(tenant_a, new)) == ("allocated", "allocated")
    assert Reservation.objects.for_tenant(tenant_a).get(pk=held.pk).state == "consumed"
    levels = {level.sku_id: level for level in StockLevel.objects.for_tenant(tenant_a)}
    assert (levels[sku_a.pk].allocated, levels[sku_a.pk].reserved) == (3, 0)
    assert (levels[sku_b.pk].allocated, levels[sku_b.pk].reserved) == (0, 0)


def _line(sku, quantity):
    return {"sku": sku, "quantity": quantity, "unit_price": "19.99"}
