"""Release to the warehouse: an order's allocations become one shipment per warehouse."""

from __future__ import annotations

import pytest

from fulfillment.errors import FulfillmentConflict
from fulfillment.models import Shipment, ShipmentLine
from fulfillment.services import order_release_to_warehouse
from fulfillment.tasks import order_release_to_warehouse_task
from inventory.services import stock_receive
from oms.models import OutboxMessage
from orders.models import Order, OrderEvent
from orders.services import order_cancel, order_hold
from tests.fulfillment.floor import SHOES_AND_SOCK, auto_release, fresh, lines_of, place


def test_release_makes_one_shipment_per_warehouse_and_moves_the_order(tenant_a, stocked):
    w1, _, w3 = stocked
    order = place(tenant_a, "SPLIT", SHOES_AND_SOCK, service_level="express")
    assert order.state == "allocated"

    made = order_release_to_warehouse(tenant=tenant_a, order_id=order.pk, actor="test")

    assert [(s.number, s.warehouse_id, s.state) for s in made] == [
        (f"{order.number}-1", w1.pk, "pending"),
        (f"{order.number}-2", w3.pk, "pending"),
    ]
    by_warehouse = {s.warehouse_id: s for s in made}
    assert lines_of(by_warehouse[w3.pk]) == [("SKU-123", 2)]
    assert lines_of(by_warehouse[w1.pk]) == [("SKU-456", 1)]
    assert {s.service_level for s in made} == {"express"}
    assert fresh(order).state == "in_fulfillment"
    assert OrderEvent.objects.for_tenant(tenant_a).filter(order=order, type="note").count() == 2


def test_release_copies_the_promised_date(tenant_a, stocked, sku_a):
    order = place(tenant_a, "BIG", [{"sku": "SKU-123", "quantity": 20, "unit_price": "1.00"}])
    assert order.state == "partially_allocated"
    Order.objects.for_tenant(tenant_a).filter(pk=order.pk).update(promise_date="2030-01-02")
    made = order_release_to_warehouse(tenant=tenant_a, order_id=order.pk)
    assert [str(s.promised_date) for s in made] == ["2030-01-02", "2030-01-02"]
    assert sorted(lines_of(s)[0][1] for s in made) == [5, 10]  # W2's five, W3's ten; five wait


def test_releasing_twice_makes_nothing_more(tenant_a, stocked):
    order = place(tenant_a)
    first = order_release_to_warehouse(tenant=tenant_a, order_id=order.pk)
    second = order_release_to_warehouse(tenant=tenant_a, order_id=order.pk)
    assert len(first) == 1 and second == []
    assert Shipment.objects.for_tenant(tenant_a).filter(order=order).count() == 1
    assert ShipmentLine.objects.for_tenant(tenant_a).get().quantity == 2


@pytest.mark.parametrize("how", ["on_hold", "cancelled"])
def test_an_order_that_cannot_ship_is_not_released(tenant_a, stocked, how):
    order = place(tenant_a)
    if how == "on_hold":
        order_hold(tenant=tenant_a, order_id=order.pk, reason="check")
    else:
        order_cancel(tenant=tenant_a, order_id=order.pk, reason="dup")
    with pytest.raises(FulfillmentConflict) as caught:
        order_release_to_warehouse(tenant=tenant_a, order_id=order.pk)
    assert caught.value.code == "not_releasable"
    assert fresh(order).state == how
    assert not Shipment.objects.for_tenant(tenant_a).exists()


def test_a_backordered_order_is_not_released(tenant_a, warehouses, sku_a):
    order = place(tenant_a, "WAIT")
    assert order.state == "backordered"
    with pytest.raises(FulfillmentConflict):
        order_release_to_warehouse(tenant=tenant_a, order_id=order.pk)
    # the automatic release leaves it alone
    assert order_release_to_warehouse(tenant=tenant_a, order_id=order.pk, quiet=True) == []
    assert fresh(order).state == "backordered"


def test_another_tenants_order_is_not_found(tenant_a, tenant_b, stocked):
    order = place(tenant_a)
    with pytest.raises(Order.DoesNotExist):
        order_release_to_warehouse(tenant=tenant_b, order_id=order.pk)
    with pytest.raises(Order.DoesNotExist):
        order_release_to_warehouse_task(tenant_id=tenant_b.pk, order_id=order.pk)
    assert fresh(order).state == "allocated"
    assert not Shipment.objects.unscoped().exists()


def test_an_allocated_order_is_released_on_commit_when_auto_release_is_on(
    tenant_a,
    stocked,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        order = place(tenant_a)
    assert fresh(order).state == "in_fulfillment"
    [shipment] = Shipment.objects.for_tenant(tenant_a).filter(order=order)
    assert lines_of(shipment) == [("SKU-123", 2)]
    assert OutboxMessage.objects.filter(task="fulfillment.tasks.order_release_to_warehouse_task").count() == 1


def test_with_auto_release_off_staff_release(tenant_a, stocked, django_capture_on_commit_callbacks):
    auto_release(tenant_a, False)
    with django_capture_on_commit_callbacks(execute=True):
        order = place(tenant_a)
    assert fresh(order).state == "allocated"
    assert not Shipment.objects.for_tenant(tenant_a).exists()
    assert not OutboxMessage.objects.filter(task__startswith="fulfillment.").exists()
    # a release task already in the outbox when the setting was turned off does nothing either
    order_release_to_warehouse_task(tenant_id=tenant_a.pk, order_id=order.pk)
    assert fresh(order).state == "allocated"


def test_stock_arriving_for_an_order_in_fulfillment_becomes_a_new_shipment(
    tenant_a,
    stocked,
    sku_a,
    django_capture_on_commit_callbacks,
):
    _, w2, w3 = stocked
    with django_capture_on_commit_callbacks(execute=True):
        order = place(tenant_a, "BIG", [{"sku": "SKU-123", "quantity": 18, "unit_price": "1.00"}])
    # W3's ten and W2's five are released; three units wait
    assert fresh(order).state == "in_fulfillment"
    assert sorted(s.warehouse_id for s in Shipment.objects.for_tenant(tenant_a)) == sorted([w2.pk, w3.pk])

    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=w3.pk, quantity=3, reference="PO-9")

    shipments = list(Shipment.objects.for_tenant(tenant_a).filter(order=order).order_by("pk"))
    assert len(shipments) == 3
    assert (shipments[2].warehouse_id, lines_of(shipments[2])) == (w3.pk, [("SKU-123", 3)])
    assert shipments[2].number == f"{order.number}-3"
    assert fresh(order).state == "in_fulfillment"
    assert all(s.state == "pending" for s in shipments)
