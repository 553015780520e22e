from __future__ import annotations

from inventory.allocation import ShipTo
from inventory.models import Reservation, StockLevel
from inventory.services import reservation_create
from orders.models import Allocation
from orders.services import order_create
from tests.orders.conftest import order_input


def test_checkout_reservation_becomes_the_orders_allocation(tenant_a, stocked, sku_a):
    w3 = stocked[2]
    reservation = reservation_create(
        tenant=tenant_a,
        lines=[(sku_a.pk, 2)],
        ship_to=ShipTo(country="US", postal_code="78701"),
        ttl_seconds=600,
    )
    level = StockLevel.objects.for_tenant(tenant_a).get(sku=sku_a, warehouse=w3)
    assert (level.reserved, level.allocated) == (2, 0)

    order, _ = order_create(tenant=tenant_a, data=order_input(reservation=reservation.pk))

    level.refresh_from_db()
    assert (level.reserved, level.allocated) == (0, 2)
    assert order.state == "allocated"
    assert Allocation.objects.for_tenant(tenant_a).get(order_line__order=order).warehouse == w3
    assert Reservation.objects.for_tenant(tenant_a).get(pk=reservation.pk).state == "consumed"


def test_reserved_units_are_not_given_to_another_order(tenant_a, stocked, sku_a):
    # W2 5 + W3 10 = 15 units; a checkout holds 14 of them
    reservation_create(
        tenant=tenant_a,
        lines=[(sku_a.pk, 14)],
        ship_to=ShipTo(country="US", postal_code="78701"),
        ttl_seconds=600,
    )
    order, _ = order_create(
        tenant=tenant_a, data=order_input(lines=[{"sku": "SKU-123", "quantity": 2, "unit_price": "1.00"}])
    )
    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered) == (1, 1)
    assert order.state == "partially_allocated"
