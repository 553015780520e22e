"""The allocation plan explains itself with SKU and warehouse codes, and says when no warehouse
ships to the destination instead of "no stock anywhere"."""

from __future__ import annotations

from inventory.allocation import DemandLine, ShipTo, allocation_plan
from inventory.models import Warehouse
from tests.inventory.factories import stock

AUSTIN_TX = ShipTo("US", "78701")


def test_a_short_warehouse_names_the_sku_by_its_code(tenant_a, warehouses, sku_a, sku_b):
    w1, _w2, w3 = warehouses
    stock(tenant_a, sku_a, w3, 5)  # Dallas, nearest Austin, has no SKU-456
    stock(tenant_a, sku_a, w1, 5)
    stock(tenant_a, sku_b, w1, 5)

    plan = allocation_plan(
        tenant=tenant_a,
        lines=[DemandLine("line:1", sku_a.pk, 1), DemandLine("line:2", sku_b.pk, 2)],
        ship_to=AUSTIN_TX,
    )

    assert "W3 (" in plan.explanation
    assert "short of SKU-456 (0 available of 2)" in plan.explanation
    assert f"SKU {sku_b.pk} " not in plan.explanation


def test_no_warehouse_shipping_to_the_country_is_said_so(tenant_a, warehouses, sku_a):
    for wh in warehouses:
        stock(tenant_a, sku_a, wh, 5)
    Warehouse.objects.for_tenant(tenant_a).update(ships_to=["US"])

    plan = allocation_plan(
        tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 2)], ship_to=ShipTo("GB", "SW1A 2AA")
    )

    assert plan.strategy == "backorder"
    assert "No warehouse ships to GB (W1, W2, W3 do not); 2 unit(s) backordered." in plan.explanation
    assert "No stock anywhere" not in plan.explanation


def test_no_stock_anywhere_still_says_so_when_warehouses_do_ship_there(tenant_a, warehouses, sku_a):
    for wh in warehouses:
        stock(tenant_a, sku_a, wh, 0)

    plan = allocation_plan(tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 1)], ship_to=AUSTIN_TX)

    assert "No stock anywhere for this order; 1 unit(s) backordered." in plan.explanation
    assert "short of SKU-123 (0 available of 1)" in plan.explanation
