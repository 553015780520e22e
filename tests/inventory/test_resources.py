"""Import/export resources: columns come from the services' field lists; a stock import keeps the
lock order (every stock row the file names locked in one statement before its first row)."""

from __future__ import annotations

from datetime import time

import pytest
import tablib

from inventory import locks
from inventory.models import StockLevel, StockMovement
from inventory.resources import SKUResource, StockLevelResource, WarehouseResource
from inventory.services import SKU_FIELDS, STOCK_PLANNING_FIELDS, WAREHOUSE_FIELDS, warehouse_update
from tests.inventory.factories import stock


def _headers(resource) -> list[str]:
    return list(resource.export().headers)


def test_export_columns_are_the_services_field_lists(tenant_a, warehouses, sku_a):
    assert _headers(SKUResource(tenant=tenant_a)) == ["code", *SKU_FIELDS]
    assert _headers(WarehouseResource(tenant=tenant_a)) == ["code", *WAREHOUSE_FIELDS]
    stock_headers = _headers(StockLevelResource(tenant=tenant_a))
    assert stock_headers[-len(STOCK_PLANNING_FIELDS) :] == list(STOCK_PLANNING_FIELDS)


def test_a_warehouse_export_imports_back_with_its_cutoff_time(tenant_a, warehouses):
    w1 = warehouses[0]
    warehouse_update(tenant=tenant_a, warehouse_id=w1.pk, cutoff_time=time(15, 30))
    exported = WarehouseResource(tenant=tenant_a).export()
    warehouse_update(tenant=tenant_a, warehouse_id=w1.pk, cutoff_time=None)

    result = WarehouseResource(tenant=tenant_a).import_data(exported, dry_run=False, use_transactions=True)

    assert not result.has_errors() and not result.has_validation_errors()
    w1.refresh_from_db()
    assert w1.cutoff_time == time(15, 30)


@pytest.fixture
def stock_locks(monkeypatch):
    statements: list[set[int]] = []
    real = locks._lock_stock

    def spy(qs):
        rows = real(qs)
        statements.append({row["pk"] if isinstance(row, dict) else row.pk for row in rows})
        return rows

    monkeypatch.setattr(locks, "_lock_stock", spy)
    return statements


def test_a_stock_import_locks_every_row_it_names_at_once_before_its_first_row(
    tenant_a, warehouses, sku_a, sku_b, stock_locks
):
    w1, w2, w3 = warehouses
    stock(tenant_a, sku_b, w3, 4)
    stock(tenant_a, sku_a, w1, 2)
    dataset = tablib.Dataset(headers=["sku", "warehouse", "on_hand", "reorder_point"])
    dataset.append(["SKU-123", "W1", 5, 1])  # exists: counted up
    dataset.append(["SKU-456", "W2", 3, 2])  # no row yet: created at zero, then counted
    dataset.append(["SKU-456", "W3", 4, 0])  # exists, unchanged
    stock_locks.clear()

    result = StockLevelResource(tenant=tenant_a).import_data(dataset, dry_run=False, use_transactions=True)

    assert not result.has_errors() and not result.has_validation_errors()
    assert [row.import_type for row in result.rows] == ["update", "new", "update"]
    named = set(StockLevel.objects.for_tenant(tenant_a).values_list("pk", flat=True))
    assert len(named) == 3
    first, *later = stock_locks
    assert first == named
    assert all(statement <= first for statement in later)  # later locks only re-take held rows
    new_row = StockLevel.objects.for_tenant(tenant_a).get(sku=sku_b, warehouse=w2)
    assert (new_row.on_hand, new_row.reorder_point) == (3, 2)
    assert list(
        StockMovement.objects.for_tenant(tenant_a).filter(stock_level=new_row).values_list("reason", "delta")
    ) == [("count", 3)]
