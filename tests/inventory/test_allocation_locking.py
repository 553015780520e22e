"""Many workers allocating the same SKU at once never oversell, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Sum

from inventory.allocation import AllocationPolicy, DemandLine, ShipTo, allocation_apply
from inventory.errors import InventoryError
from inventory.models import StockLevel, StockMovement
from tests.inventory.conftest import AUSTIN
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.oms.factories import TenantFactory

THREADS = 50


def _race(tenant, sku, policy):
    outcomes: Counter[str] = Counter()
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            plan = allocation_apply(
                tenant=tenant,
                lines=[DemandLine(f"order:{index}", sku.pk, 1)],
                ship_to=ShipTo(country="US", postal_code=AUSTIN),
                policy=policy,
            )
            with lock:
                outcomes["picked" if plan.picks else "backordered"] += 1
        except InventoryError as exc:
            with lock:
                outcomes[exc.code] += 1
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes, errors


@pytest.fixture
def five_in_stock(transactional_db):
    tenant = TenantFactory(slug="race")
    sku = SKUFactory(tenant=tenant, code="SKU-RACE")
    near = WarehouseFactory(tenant=tenant, code="DAL", postal_code="75201")
    far = WarehouseFactory(tenant=tenant, code="NJ", postal_code="07001")
    stock(tenant, sku, near, 3)
    stock(tenant, sku, far, 2)
    return tenant, sku


def _assert_never_oversold(tenant, sku):
    rows = list(StockLevel.objects.for_tenant(tenant).filter(sku=sku))
    assert sum(r.allocated for r in rows) == 5
    for row in rows:
        assert row.allocated <= row.on_hand
        ledger = (
            StockMovement.objects.for_tenant(tenant).filter(stock_level=row).aggregate(s=Sum("delta"))["s"]
        )
        assert row.on_hand == ledger


@pytest.mark.django_db(transaction=True)
def test_fifty_workers_five_units_backorders_on(five_in_stock):
    tenant, sku = five_in_stock

    outcomes, errors = _race(tenant, sku, AllocationPolicy(allow_backorder=True))

    assert errors == []
    assert outcomes == {"picked": 5, "backordered": 45}
    _assert_never_oversold(tenant, sku)


@pytest.mark.django_db(transaction=True)
def test_fifty_workers_five_units_backorders_off(five_in_stock):
    tenant, sku = five_in_stock

    outcomes, errors = _race(tenant, sku, AllocationPolicy(allow_backorder=False))

    assert errors == []
    assert outcomes == {"picked": 5, "insufficient_stock": 45}
    _assert_never_oversold(tenant, sku)
