"""Replenishment signals from shipment velocity, cover and lead time."""

from __future__ import annotations

from inventory.models import StockLevel
from inventory.replenishment import replenishment_report
from inventory.services import inbound_create, stock_ship
from tests.inventory.factories import stock


def _ship(tenant, level, units):
    StockLevel.objects.for_tenant(tenant).filter(pk=level.pk).update(allocated=units)
    stock_ship(tenant=tenant, picks=[(level.pk, units)], reference="orders")


def test_fast_seller_short_for_its_lead_time_is_reordered(tenant_a, warehouses, sku_a):
    level = stock(tenant_a, sku_a, warehouses[2], 60)
    _ship(tenant_a, level, 56)  # 2 a day over 28 days; 4 left, lead time 14 days

    report = replenishment_report(tenant=tenant_a)

    [signal] = report.reorders
    assert (signal.sku, signal.warehouse) == ("SKU-123", "W3")
    assert signal.velocity_per_day == 2.0
    assert signal.days_of_cover == 2.0
    assert signal.reorder_quantity == 2 * (14 + 30) - 4


def test_incoming_stock_suppresses_the_reorder(tenant_a, warehouses, sku_a):
    level = stock(tenant_a, sku_a, warehouses[2], 60)
    _ship(tenant_a, level, 56)
    inbound_create(tenant=tenant_a, warehouse_id=warehouses[2].pk, lines=[(sku_a.pk, 100)])

    assert replenishment_report(tenant=tenant_a).reorders == []


def test_surplus_elsewhere_becomes_a_transfer_from_the_nearest_donor(tenant_a, warehouses, sku_a):
    w1, w2, w3 = warehouses  # NJ, LA, Dallas
    short = stock(tenant_a, sku_a, w3, 60)
    _ship(tenant_a, short, 56)
    stock(tenant_a, sku_a, w1, 500)  # no sales at all: surplus
    stock(tenant_a, sku_a, w2, 500)

    report = replenishment_report(tenant=tenant_a)

    [transfer] = report.transfers
    assert (transfer.from_warehouse, transfer.to_warehouse) == ("W2", "W3")  # LA is nearer Dallas than NJ
    assert transfer.quantity == 84
    assert report.reorders == []  # the transfer covers it
    assert "W2 has 500 available" in transfer.reason
