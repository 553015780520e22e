"""Backorders: oldest first even against a newer order, a receipt's sweep in the outbox, a periodic sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from inventory.services import stock_receive
from oms.models import OutboxMessage
from orders.models import BackorderSweepRequest, Order
from orders.services import order_create, orders_backorders_sweep
from orders.tasks import orders_backorders_sweep_task
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input


def _states(tenant, *orders):
    return [Order.objects.for_tenant(tenant).get(pk=o.pk).state for o in orders]


def _receive(tenant, sku, warehouse, quantity, reference="PO-1"):
    """A receipt whose on-commit work (the outbox kick) does not run, as when the broker is down."""
    stock_receive(
        tenant=tenant, sku_id=sku.pk, warehouse_id=warehouse.pk, quantity=quantity, reference=reference
    )


def test_a_newer_order_does_not_take_the_units_an_older_backorder_waits_for(tenant_a, warehouses, sku_a):
    old, _ = order_create(tenant=tenant_a, data=order_input("OLD"))  # 2 units, nothing in stock
    assert old.state == "backordered"
    _receive(tenant_a, sku_a, warehouses[0], 2)  # the sweep it enqueues has not run yet
    new, _ = order_create(tenant=tenant_a, data=order_input("NEW"))
    assert _states(tenant_a, old, new) == ["allocated", "backordered"]
    assert old.lines.get().quantity_allocated == 2


def test_a_newer_order_gets_what_older_backorders_leave(tenant_a, warehouses, sku_a):
    old, _ = order_create(tenant=tenant_a, data=order_input("OLD"))
    _receive(tenant_a, sku_a, warehouses[0], 5)
    new, _ = order_create(tenant=tenant_a, data=order_input("NEW"))
    assert _states(tenant_a, old, new) == ["allocated", "allocated"]


def test_older_backorders_are_served_in_the_order_they_were_placed(tenant_a, warehouses, sku_a):
    now = timezone.now()
    second, _ = order_create(tenant=tenant_a, data=order_input("B", placed_at=now - timedelta(hours=1)))
    first, _ = order_create(tenant=tenant_a, data=order_input("A", placed_at=now - timedelta(hours=2)))
    _receive(tenant_a, sku_a, warehouses[0], 3)
    new, _ = order_create(tenant=tenant_a, data=order_input("C"))
    assert _states(tenant_a, first, second, new) == ["allocated", "partially_allocated", "backordered"]


def test_an_order_placed_earlier_than_the_backorders_is_not_made_to_wait(tenant_a, warehouses, sku_a):
    """Marketplace orders can arrive late: oldest first is by the time they were placed."""
    waiting, _ = order_create(tenant=tenant_a, data=order_input("LATER"))
    _receive(tenant_a, sku_a, warehouses[0], 2)
    imported, _ = order_create(
        tenant=tenant_a, data=order_input("EARLIER", placed_at=timezone.now() - timedelta(days=1))
    )
    assert _states(tenant_a, imported, waiting) == ["allocated", "backordered"]


def test_a_receipt_writes_its_backorder_sweep_in_its_own_transaction(tenant_a, warehouses, sku_a):
    order_create(tenant=tenant_a, data=order_input("OLD"))
    _receive(tenant_a, sku_a, warehouses[0], 2)
    row = OutboxMessage.objects.get(task="orders.tasks.orders_allocate_backorders_task")
    assert (row.state, row.tenant_id, row.kwargs) == ("pending", tenant_a.pk, {"tenant_id": tenant_a.pk})
    owed = BackorderSweepRequest.objects.for_tenant(tenant_a)
    assert list(owed.values_list("sku_id", "requests")) == [(sku_a.pk, 1)]

    class Boom(Exception):
        pass

    owed.delete()  # the sweep took it: the next receipt owes a new one
    with pytest.raises(Boom), transaction.atomic():
        _receive(tenant_a, sku_a, warehouses[0], 2, reference="PO-2")
        raise Boom
    assert OutboxMessage.objects.filter(task="orders.tasks.orders_allocate_backorders_task").count() == 1
    assert not owed.exists()


def test_the_periodic_sweep_allocates_every_tenants_backorders_whose_stock_is_free(
    tenant_a, tenant_b, warehouses, sku_a
):
    waiting = [order_create(tenant=tenant_a, data=order_input(f"A-{n}"))[0] for n in range(3)]
    b_warehouse = WarehouseFactory(tenant=tenant_b, code="B1")
    b_sku = SKUFactory(tenant=tenant_b, code="SKU-123")
    b_waiting, _ = order_create(tenant=tenant_b, data=order_input("B-1"))
    # Stock comes in and the sweeps it enqueued never run (their on-commit kick did not happen).
    stock(tenant_a, sku_a, warehouses[1], 4)
    stock(tenant_b, b_sku, b_warehouse, 2)
    assert _states(tenant_a, *waiting) + _states(tenant_b, b_waiting) == ["backordered"] * 4
    assert orders_backorders_sweep_task.delay().get() == 3
    assert _states(tenant_a, *waiting) == ["allocated", "allocated", "backordered"]
    assert _states(tenant_b, b_waiting) == ["allocated"]
    assert orders_backorders_sweep() == 0  # nothing free for what still waits: nothing visited


def test_serving_older_backorders_locks_every_stock_row_first_in_one_statement(
    tenant_a, warehouses, sku_a, sku_b, monkeypatch
):
    """The older order waits for SKU-123 and SKU-456; the new one wants SKU-123 only."""
    from inventory import locks

    old, _ = order_create(
        tenant=tenant_a,
        data=order_input(
            "OLD",
            lines=[
                {"sku": "SKU-123", "quantity": 1, "unit_price": "9.99"},
                {"sku": "SKU-456", "quantity": 1, "unit_price": "9.99"},
            ],
        ),
    )
    _receive(tenant_a, sku_a, warehouses[0], 2)
    _receive(tenant_a, sku_b, warehouses[1], 1)
    statements = []
    real = locks._lock_stock

    def spy(qs):
        rows = real(qs)
        statements.append({row["pk"] if isinstance(row, dict) else row.pk for row in rows})
        return rows

    monkeypatch.setattr(locks, "_lock_stock", spy)
    new, _ = order_create(
        tenant=tenant_a,
        data=order_input("NEW", lines=[{"sku": "SKU-123", "quantity": 1, "unit_price": "9.99"}]),
    )
    assert _states(tenant_a, old, new) == ["allocated", "allocated"]
    first, *later = statements
    assert later and all(rows <= first for rows in later)  # nothing locked after the first statement is new
