"""An order that finds no stock is inserted backordered without an exclusive stock lock: the same rows
as the locked way, a receipt in between sends it the locked way, and sold-out orders do not queue."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction
from django.forms.models import model_to_dict

from inventory.models import StockLevel
from oms.models import AuditEvent
from orders import fastpath, services
from orders.models import Order, OrderEvent, OrderLine
from tests.inventory.factories import stock
from tests.orders.conftest import order_input

SOLD_OUT = [{"sku": "SKU-123", "quantity": 2, "unit_price": "19.99"}]


@pytest.fixture
def sold_out(tenant_a, warehouses, sku_a, sku_b):
    """SKU-123: rows in W2 and W3, every unit allocated; SKU-456 in W1 with 4."""
    _, w2, w3 = warehouses
    for warehouse, units in ((w2, 5), (w3, 10)):
        row = stock(tenant_a, sku_a, warehouse, units)
        StockLevel.objects.unscoped().filter(pk=row.pk).update(allocated=units)
    stock(tenant_a, sku_b, warehouses[0], 4)
    return warehouses


def _place(tenant, external_id, lines=SOLD_OUT, optimistic=True, email="ana@example.com"):
    data = order_input(external_id, lines, customer={"email": email, "name": "Ana Lima"})
    with transaction.atomic():
        return services._order_create(
            tenant=tenant,
            data=data,
            actor="api_key:abc",
            skus=None,
            optimistic=optimistic,
        )


def _rows(order):
    leave = (
        "id",
        "external_id",
        "number",
        "created_at",
        "updated_at",
        "placed_at",
        "customer",
        "ship_to",
        "bill_to",
    )
    row = {
        k: v for k, v in model_to_dict(Order.objects.unscoped().get(pk=order.pk)).items() if k not in leave
    }
    plan = row.pop("allocation_plan")
    lines = [
        {k: v for k, v in model_to_dict(line).items() if k not in ("id", "order")}
        for line in OrderLine.objects.unscoped().filter(order=order).order_by("position")
    ]
    events = list(
        OrderEvent.objects.unscoped()
        .filter(order=order)
        .order_by("pk")
        .values_list("type", "from_state", "to_state", "actor", "message", "data")
    )
    audit = list(
        AuditEvent.objects.unscoped()
        .filter(object_type="orders.order", object_id=str(order.pk))
        .values_list("action", "actor", "after")
    )
    for _, _, after in audit:
        after.pop("number")
    backorders = sorted(plan.pop("backorders").values())  # keyed by position here, by line id there
    return row, plan, backorders, lines, events, audit


def test_a_sold_out_order_is_written_as_the_locked_way_writes_it(tenant_a, sold_out, monkeypatch):
    placed = _place(tenant_a, "W-FAST")
    assert placed.state == "backordered" and placed.placed_lines[0].placed_allocations == []
    with monkeypatch.context() as m:
        m.setattr(fastpath, "nothing_free", lambda rows, policy: False)  # the reference: the locked way
        reference = _place(tenant_a, "W-LOCKED", optimistic=False)
    assert reference.state == "backordered"
    assert _rows(placed) == _rows(reference)
    assert _rows(placed)[2] == [2]  # the 2 units backordered


def test_some_stock_free_is_left_to_the_locked_way(tenant_a, sold_out):
    both = [*SOLD_OUT, {"sku": "SKU-456", "quantity": 9, "unit_price": "5.00"}]  # 4 of SKU-456 free
    order = _place(tenant_a, "W-PART", both)
    assert order.state == "partially_allocated"
    assert [line.quantity_allocated for line in order.lines.order_by("position")] == [0, 4]


def _line(tenant, code):
    from inventory.models import SKU

    return OrderLine(tenant=tenant, sku=SKU.objects.unscoped().get(code=code), quantity=1, position=0)


def test_stock_received_after_the_read_sends_the_order_the_locked_way(tenant_a, sold_out, monkeypatch):
    empty = fastpath.placement_rows(tenant=tenant_a, lines=[_line(tenant_a, "SKU-123")])
    _, w2, _ = sold_out
    StockLevel.objects.unscoped().filter(warehouse=w2, sku__code="SKU-123").update(on_hand=7)  # 2 arrive
    monkeypatch.setattr(fastpath, "placement_rows", lambda **_: empty)  # what it read before they came
    order = _place(tenant_a, "W-1")
    assert order.state == "allocated"
    assert StockLevel.objects.unscoped().get(warehouse=w2, sku__code="SKU-123").allocated == 7


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
def test_the_sold_out_check_lets_other_sold_out_orders_through_and_holds_a_receipt(tenant_a, sold_out, sku_a):
    """A transaction that found SKU-123 sold out keeps its rows share-locked until it commits:
    another sold-out order is not held up by it, a receipt of those rows waits for it (so its
    backorder sweep sees the order)."""
    from inventory.locks import stock_none_free_shared
    from inventory.services import stock_adjust

    checked = threading.Event()
    release = threading.Event()

    def hold_open():
        try:
            with transaction.atomic():
                assert stock_none_free_shared(tenant=tenant_a, sku_ids=[sku_a.pk])
                checked.set()
                release.wait(20)
        finally:
            checked.set()
            connection.close()

    holder = threading.Thread(target=hold_open)
    holder.start()
    try:
        assert checked.wait(20)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")
        second = _place(tenant_a, "W-NEXT")  # under an exclusive stock lock it would time out here
        assert second.state == "backordered"
        _, w2, _ = sold_out
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            stock_adjust(tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=w2.pk, delta=3, reason="receipt")
    finally:
        release.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert Order.objects.unscoped().get(external_id="W-NEXT").state == "backordered"
