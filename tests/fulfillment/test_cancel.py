"""Cancelling shipments, and orders cancelled or held while in fulfillment."""

from __future__ import annotations

import pytest

from fulfillment.errors import FulfillmentConflict
from fulfillment.models import Label, PickList, Shipment
from fulfillment.services import order_release_to_warehouse, shipment_cancel, shipment_ship
from fulfillment.states import LabelState
from oms.models import OutboxMessage
from orders.models import Allocation
from orders.services import order_cancel, order_hold, order_release
from tests.fulfillment.floor import SHOES_AND_SOCK, fresh, level, released


def _with_label(tenant, shipment):
    shipment.pack()
    shipment.label_bought()
    shipment.save()
    return Label.objects.create(
        tenant=tenant,
        shipment=shipment,
        reference=f"label:{shipment.pk}:1",
        state=LabelState.PURCHASED,
        carrier="USPS",
        tracking_number="9400111",
    )


def _void_tasks(label):
    return OutboxMessage.objects.filter(task="fulfillment.tasks.label_void_task", kwargs__label_id=label.pk)


def test_a_cancelled_shipment_gives_its_units_back_to_the_order(tenant_a, stocked, sku_a):
    _, _, w3 = stocked
    [shipment] = released(tenant_a)
    stock_before = level(tenant_a, sku_a, w3)

    result = shipment_cancel(tenant=tenant_a, shipment_id=shipment.pk, reason="customer called", actor="test")

    assert (result.state, result.cancel_reason) == ("cancelled", "customer called")
    order = fresh(shipment.order)
    assert order.state == "allocated"  # editable, re-allocatable, cancellable again
    assert level(tenant_a, sku_a, w3) == stock_before  # the units stay allocated to the order
    assert Allocation.objects.for_tenant(tenant_a).get(order_line__order=order).quantity == 2
    # released again: a new shipment for the same units
    [again] = order_release_to_warehouse(tenant=tenant_a, order_id=order.pk)
    assert again.number == f"{order.number}-2"
    assert fresh(order).state == "in_fulfillment"


def test_cancelling_twice_changes_nothing_and_a_shipped_one_cannot_be_cancelled(tenant_a, stocked):
    first, second = released(tenant_a, "SPLIT", SHOES_AND_SOCK)
    shipment_cancel(tenant=tenant_a, shipment_id=first.pk, reason="one")
    again = shipment_cancel(tenant=tenant_a, shipment_id=first.pk, reason="two")
    assert (again.state, again.cancel_reason) == ("cancelled", "one")
    assert fresh(first.order).state == "in_fulfillment"  # the other shipment is still open

    shipment_ship(tenant=tenant_a, shipment_id=second.pk, carrier="UPS")
    with pytest.raises(FulfillmentConflict) as caught:
        shipment_cancel(tenant=tenant_a, shipment_id=second.pk)
    assert caught.value.code == "not_cancellable"
    assert fresh(second).state == "shipped"
    assert fresh(first.order).state == "partially_shipped"


def test_a_bought_label_is_voided_through_the_outbox(tenant_a, stocked):
    [shipment] = released(tenant_a)
    label = _with_label(tenant_a, shipment)
    shipment_cancel(tenant=tenant_a, shipment_id=shipment.pk, reason="address wrong")
    assert fresh(label).state == "void_requested"
    assert _void_tasks(label).count() == 1
    assert fresh(shipment.order).state == "allocated"


def test_a_cancelled_shipment_leaves_its_pick_list(tenant_a, stocked):
    _, _, w3 = stocked
    [shipment] = released(tenant_a)
    pick_list = PickList.objects.create(tenant=tenant_a, warehouse=w3)
    shipment.pick_list = pick_list
    shipment.start_picking()
    shipment.save()
    shipment_cancel(tenant=tenant_a, shipment_id=shipment.pk)
    assert fresh(shipment).pick_list_id is None
    assert fresh(pick_list).state == "cancelled"  # nothing left on it


def test_an_order_cancelled_in_fulfillment_cancels_its_shipments_and_voids_labels(
    tenant_a, stocked, sku_a, sku_b
):
    w1, _, w3 = stocked
    shipments = released(tenant_a, "SPLIT", SHOES_AND_SOCK)
    label = _with_label(tenant_a, shipments[0])
    order = fresh(shipments[0].order)
    assert order.state == "in_fulfillment"

    order_cancel(tenant=tenant_a, order_id=order.pk, reason="fraud", actor="test")

    assert fresh(order).state == "cancelled"
    assert [fresh(s).state for s in shipments] == ["cancelled", "cancelled"]
    assert fresh(shipments[0]).cancel_reason == "Order cancelled: fraud"
    assert fresh(label).state == "void_requested"
    assert _void_tasks(label).count() == 1
    assert level(tenant_a, sku_a, w3)[1] == 0 and level(tenant_a, sku_b, w1)[1] == 0


def test_an_order_held_in_fulfillment_leaves_the_warehouse_until_released(
    tenant_a,
    stocked,
    django_capture_on_commit_callbacks,
):
    [shipment] = released(tenant_a)
    order = fresh(shipment.order)

    order_hold(tenant=tenant_a, order_id=order.pk, kind="fraud", reason="review")
    assert fresh(order).state == "on_hold"
    assert fresh(shipment).state == "cancelled"
    assert Allocation.objects.for_tenant(tenant_a).get(order_line__order=order).quantity == 2

    with django_capture_on_commit_callbacks(execute=True):
        order_release(tenant=tenant_a, order_id=order.pk)
    assert fresh(order).state == "in_fulfillment"  # released to the warehouse again
    assert Shipment.objects.for_tenant(tenant_a).filter(order=order, state="pending").count() == 1


def test_another_tenants_shipment_is_not_found(tenant_a, tenant_b, stocked):
    [shipment] = released(tenant_a)
    with pytest.raises(Shipment.DoesNotExist):
        shipment_cancel(tenant=tenant_b, shipment_id=shipment.pk)
    assert fresh(shipment).state == "pending"
