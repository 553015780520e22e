from __future__ import annotations

from io import StringIO

from inventory.demo import seed
from inventory.models import SKU, StockLevel, Warehouse


def test_demo_stock(tenant_a):
    seed(tenant_a, StringIO())
    warehouses = list(Warehouse.objects.for_tenant(tenant_a))
    assert {w.postal_code for w in warehouses} == {"07001", "75201", "90001"}
    assert all(w.latitude is not None for w in warehouses)
    assert SKU.objects.for_tenant(tenant_a).count() == 50
    levels = StockLevel.objects.for_tenant(tenant_a)
    assert levels.filter(on_hand=0).exists()
    assert levels.filter(on_hand__gt=0).count() > 80
