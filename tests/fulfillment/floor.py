"""Helpers for the warehouse-floor tests: orders placed and released, read back plainly.

The inventory fixtures (tests/inventory/conftest.py, re-exported by tests/orders/conftest.py):
W1 Avenel NJ, W2 Los Angeles, W3 Dallas; `stocked`: SKU-123 W2 5, W3 10; SKU-456 W1 4.
Orders ship to Austin TX, so SKU-123 comes from W3 (Dallas) first.
"""

from __future__ import annotations

from typing import Any

from fulfillment.models import FulfillmentSettings, Shipment
from fulfillment.services import order_release_to_warehouse
from inventory.models import StockLevel
from orders.models import Order
from orders.services import order_create
from tests.orders.conftest import order_input

TWO_SHOES = [{"sku": "SKU-123", "quantity": 2, "unit_price": "19.99"}]
SHOES_AND_SOCK = [
    {"sku": "SKU-123", "quantity": 2, "unit_price": "19.99"},
    {"sku": "SKU-456", "quantity": 1, "unit_price": "9.00"},
]


def place(
    tenant: Any, external_id: str = "W-1", lines: list[dict[str, Any]] | None = None, **extra: Any
) -> Order:
    """An order placed and allocated (no on-commit work runs: no automatic release)."""
    order, _ = order_create(tenant=tenant, data=order_input(external_id, lines or TWO_SHOES, **extra))
    return order


def released(
    tenant: Any, external_id: str = "W-1", lines: list[dict[str, Any]] | None = None
) -> list[Shipment]:
    order = place(tenant, external_id, lines)
    return order_release_to_warehouse(tenant=tenant, order_id=order.pk, actor="test")


def auto_release(tenant: Any, on: bool) -> FulfillmentSettings:
    settings, _ = FulfillmentSettings.objects.for_tenant(tenant).get_or_create(tenant=tenant)
    settings.auto_release = on
    settings.save()
    return settings


def level(tenant: Any, sku: Any, warehouse: Any) -> tuple[int, int]:
    row = StockLevel.objects.for_tenant(tenant).get(sku=sku, warehouse=warehouse)
    return row.on_hand, row.allocated


def lines_of(shipment: Shipment) -> list[tuple[str, int]]:
    return [(line.sku.code, line.quantity) for line in shipment.lines.select_related("sku").order_by("pk")]


def fresh(obj: Any) -> Any:
    return type(obj).objects.unscoped().get(pk=obj.pk)
