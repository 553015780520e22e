"""Backorder sweeps coalesce: stock changes queue far fewer sweeps, and every waiting order is still served.

The worker is busy here: a transaction's on-commit kick does not send its outbox rows, they wait
(pending) as messages wait in a queue, and `_worker_runs_the_queue` then runs them in order, as a
worker would. What a merchant sees is asserted: which orders got their stock.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from inventory.services import stock_receive
from oms.core.outbox import outbox_relay_pending
from oms.models import OutboxMessage
from orders import backorders
from orders.models import BackorderSweepRequest, Order
from orders.services import order_create
from orders.tasks import orders_allocate_backorders_task
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db(transaction=True)

SWEEP = "orders.tasks.orders_allocate_backorders_task"


@pytest.fixture(autouse=True)
def _busy_worker(monkeypatch):
    monkeypatch.setattr("oms.core.tasks.outbox_kick", lambda ids: None)
    monkeypatch.setattr("orders.backorders.outbox_kick", lambda ids: None)


def _worker_runs_the_queue():
    outbox_relay_pending()  # tasks run eagerly in the tests, oldest first


def _sweeps_queued():
    return OutboxMessage.objects.filter(task=SWEEP).count()


def _waiting_orders(tenant, count, prefix="W", sku="SKU-123"):
    lines = [{"sku": sku, "quantity": 1, "unit_price": "9.99"}]
    orders = [
        order_create(tenant=tenant, data=order_input(f"{prefix}-{n}", lines=lines))[0] for n in range(count)
    ]
    assert {order.state for order in orders} == {"backordered"}
    return orders


def _states(tenant, orders):
    """Each order's state; "allocated" for one holding all its units (even if released since)."""
    states = []
    for order in orders:
        order = Order.objects.for_tenant(tenant).get(pk=order.pk)
        lines = list(order.lines.all())
        holds_all = all(line.quantity_allocated + line.quantity_shipped == line.quantity for line in lines)
        states.append("allocated" if holds_all and order.state != "backordered" else order.state)
    return states


def _receive(tenant, sku, warehouse, quantity, reference):
    stock_receive(
        tenant=tenant, sku_id=sku.pk, warehouse_id=warehouse.pk, quantity=quantity, reference=reference
    )


def test_twenty_receipts_of_one_sku_queue_one_sweep_that_allocates_every_backorder(
    tenant_a, warehouses, sku_a
):
    waiting = _waiting_orders(tenant_a, 20)
    for n in range(20):  # twenty receipts of one unit, each its own transaction, before any sweep runs
        _receive(tenant_a, sku_a, warehouses[n % 3], 1, reference=f"PO-{n}")
    assert _sweeps_queued() == 1
    assert _states(tenant_a, waiting) == ["backordered"] * 20  # nothing allocated before the sweep runs

    _worker_runs_the_queue()

    assert _states(tenant_a, waiting) == ["allocated"] * 20


def test_one_transaction_receiving_many_skus_queues_one_sweep(tenant_a, warehouses, sku_a, sku_b):
    waiting = _waiting_orders(tenant_a, 2) + _waiting_orders(tenant_a, 2, prefix="V", sku="SKU-456")
    with transaction.atomic():  # the demo seed and an import receive like this
        for sku in (sku_a, sku_b):  # in (SKU, warehouse) order, as the house lock order wants
            for warehouse in warehouses:
                _receive(tenant_a, sku, warehouse, 1, reference=f"PO-{sku.code}-{warehouse.code}")
    assert _sweeps_queued() == 1

    _worker_runs_the_queue()

    assert _states(tenant_a, waiting) == ["allocated"] * 4


def test_a_backorder_that_starts_waiting_while_a_sweep_runs_is_allocated_by_a_sweep_after_it(
    tenant_a, warehouses, sku_a, monkeypatch
):
    first = _waiting_orders(tenant_a, 3)
    _receive(tenant_a, sku_a, warehouses[0], 3, reference="PO-1")
    late = []
    real_sweep = backorders.orders_allocate_backorders

    def sweep_then_more_arrives(**kwargs):
        touched = real_sweep(**kwargs)
        if not late:
            # The running sweep has made its decisions; before its task ends, an order comes in
            # (nothing is free: it waits) and then its stock is received.
            late.extend(_waiting_orders(tenant_a, 1, prefix="LATE"))
            _receive(tenant_a, sku_a, warehouses[1], 1, reference="PO-2")
        return touched

    monkeypatch.setattr(backorders, "orders_allocate_backorders", sweep_then_more_arrives)

    _worker_runs_the_queue()  # the first sweep: the three older orders
    assert _states(tenant_a, first + late) == ["allocated"] * 3 + ["backordered"]
    _worker_runs_the_queue()  # the sweep the receipt during the first one queued

    assert _states(tenant_a, first + late) == ["allocated"] * 4
    assert _sweeps_queued() == 2


def test_a_receipt_still_committing_when_its_sweep_starts_is_seen_by_that_sweep(tenant_a, warehouses, sku_a):
    """The second receipt finds the SKU owed a sweep already and queues none: that sweep sees its stock."""
    waiting = _waiting_orders(tenant_a, 2)
    _receive(tenant_a, sku_a, warehouses[0], 1, reference="PO-1")  # queues the sweep
    in_transaction, commit = threading.Event(), threading.Event()
    errors = []

    def second_receipt():
        try:
            with transaction.atomic():
                _receive(tenant_a, sku_a, warehouses[1], 1, reference="PO-2")
                in_transaction.set()
                commit.wait(timeout=30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def the_queued_sweep():
        try:
            orders_allocate_backorders_task(tenant_id=tenant_a.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    receipt = threading.Thread(target=second_receipt)
    receipt.start()
    assert in_transaction.wait(timeout=30)
    sweep = threading.Thread(target=the_queued_sweep)
    sweep.start()
    sweep.join(timeout=1.0)  # it waits for the receipt to commit (or, without that, finishes now)
    commit.set()
    receipt.join(timeout=60)
    sweep.join(timeout=60)

    assert errors == []
    assert _sweeps_queued() == 1
    assert _states(tenant_a, waiting) == ["allocated", "allocated"]


def test_a_sku_owed_a_sweep_whose_task_was_lost_gets_a_new_one_from_its_next_receipt(
    tenant_a, warehouses, sku_a
):
    waiting = _waiting_orders(tenant_a, 2)
    _receive(tenant_a, sku_a, warehouses[0], 1, reference="PO-1")
    OutboxMessage.objects.filter(task=SWEEP).delete()  # its message was lost with a killed worker
    owed = BackorderSweepRequest.objects.for_tenant(tenant_a)
    _receive(tenant_a, sku_a, warehouses[0], 1, reference="PO-2")
    assert _sweeps_queued() == 0  # not yet overdue: it counts on the sweep it is owed

    overdue = timezone.now() - timedelta(seconds=backorders.STALE_SECONDS + 1)
    owed.update(ticketed_at=overdue)
    _receive(tenant_a, sku_a, warehouses[1], 1, reference="PO-3")
    assert _sweeps_queued() == 1
    _worker_runs_the_queue()

    assert _states(tenant_a, waiting) == ["allocated", "allocated"]
    assert not owed.exists()
