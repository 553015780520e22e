from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import StockLevel
from oms.core.errors import DomainError
from orders.models import Allocation, Order, OrderEvent
from orders.services import order_create
from tests.orders.conftest import order_input


def _level(tenant, sku, warehouse):
    return StockLevel.objects.for_tenant(tenant).get(sku=sku, warehouse=warehouse)


def test_order_is_allocated_from_the_nearest_warehouse(tenant_a, stocked, sku_a):
    order, created = order_create(tenant=tenant_a, data=order_input())
    assert created
    assert order.state == "allocated"
    assert (order.subtotal, order.shipping_price, order.total) == (
        Decimal("39.98"),
        Decimal("5.00"),
        Decimal("44.98"),
    )
    allocation = Allocation.objects.for_tenant(tenant_a).get(order_line__order=order)
    assert (allocation.warehouse.code, allocation.quantity) == ("W3", 2)
    assert _level(tenant_a, sku_a, stocked[2]).allocated == 2
    assert order.allocation_plan["strategy"] == "single_nearest"
    assert "W3" in order.allocation_plan["explanation"]
    types = list(OrderEvent.objects.for_tenant(tenant_a).filter(order=order).values_list("type", flat=True))
    assert types == ["created", "allocated", "transition"]


def test_same_channel_and_external_id_returns_the_existing_order(tenant_a, stocked, sku_a):
    first, _ = order_create(tenant=tenant_a, data=order_input())
    again, created = order_create(tenant=tenant_a, data=order_input())
    assert not created and again.pk == first.pk
    assert Order.objects.for_tenant(tenant_a).count() == 1
    assert _level(tenant_a, sku_a, stocked[2]).allocated == 2


def test_order_numbers_are_per_tenant_and_increase(tenant_a, tenant_b, stocked):
    first, _ = order_create(tenant=tenant_a, data=order_input("A-1"))
    second, _ = order_create(tenant=tenant_a, data=order_input("A-2"))
    assert int(second.number) == int(first.number) + 1


def test_unknown_sku_is_refused_and_nothing_is_written(tenant_a, stocked):
    with pytest.raises(DomainError) as caught:
        order_create(
            tenant=tenant_a, data=order_input(lines=[{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}])
        )
    assert caught.value.code == "unknown_sku"
    assert Order.objects.for_tenant(tenant_a).count() == 0


def test_nothing_in_stock_is_backordered(tenant_a, stocked):
    order, _ = order_create(
        tenant=tenant_a, data=order_input(lines=[{"sku": "SKU-123", "quantity": 50, "unit_price": "1.00"}])
    )
    # 15 exist across W2 and W3: allocate what exists, backorder the rest
    assert order.state == "partially_allocated"
    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered) == (15, 35)


def test_tenant_without_backorders_gets_insufficient_stock_and_nothing_changes(tenant_a, stocked, sku_a):
    tenant_a.allow_backorder = False
    tenant_a.save()
    with pytest.raises(DomainError) as caught:
        order_create(
            tenant=tenant_a,
            data=order_input(lines=[{"sku": "SKU-123", "quantity": 50, "unit_price": "1.00"}]),
        )
    assert caught.value.code == "insufficient_stock"
    assert Order.objects.for_tenant(tenant_a).count() == 0
    assert sum(lv.allocated for lv in StockLevel.objects.for_tenant(tenant_a)) == 0


def test_split_across_two_warehouses(tenant_a, stocked):
    order, _ = order_create(
        tenant=tenant_a,
        data=order_input(
            lines=[
                {"sku": "SKU-123", "quantity": 1, "unit_price": "19.99"},
                {"sku": "SKU-456", "quantity": 1, "unit_price": "9.99"},
            ]
        ),
    )
    assert order.state == "allocated"
    codes = sorted(
        Allocation.objects.for_tenant(tenant_a)
        .filter(order_line__order=order)
        .values_list("warehouse__code", flat=True)
    )
    assert codes == ["W1", "W3"]
    assert order.allocation_plan["strategy"] == "split"
