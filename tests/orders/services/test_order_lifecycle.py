"""Every transition, and every illegal one changing nothing."""

from __future__ import annotations

import pytest

from inventory.models import StockLevel
from inventory.services import stock_receive
from oms.core.errors import DomainError
from orders.models import Allocation, Hold, Order
from orders.services import (
    LineInput,
    order_allocate,
    order_cancel,
    order_create,
    order_edit,
    order_hold,
    order_reallocate,
    order_release,
)
from tests.orders.conftest import order_input


def _force_state(order, state):
    Order.objects.for_tenant(order.tenant_id).filter(pk=order.pk).update(state=state)
    order.refresh_from_db()


def _allocated_units(tenant):
    return sum(level.allocated for level in StockLevel.objects.for_tenant(tenant))


@pytest.fixture
def order(tenant_a, stocked):
    return order_create(tenant=tenant_a, data=order_input())[0]


def test_hold_and_release_keep_the_allocation(tenant_a, order):
    held = order_hold(tenant=tenant_a, order_id=order.pk, kind="fraud", reason="velocity check")
    assert held.state == "on_hold"
    assert _allocated_units(tenant_a) == 2
    released = order_release(tenant=tenant_a, order_id=order.pk, reason="looks fine")
    assert released.state == "allocated"
    assert not Hold.objects.for_tenant(tenant_a).filter(order=order, released_at__isnull=True).exists()


def test_two_holds_need_two_releases(tenant_a, order):
    order_hold(tenant=tenant_a, order_id=order.pk, kind="fraud", reason="a")
    order_hold(tenant=tenant_a, order_id=order.pk, kind="address", reason="b")
    assert order_release(tenant=tenant_a, order_id=order.pk, kind="fraud").state == "on_hold"
    assert order_release(tenant=tenant_a, order_id=order.pk, kind="address").state == "allocated"


def test_release_without_a_hold_is_refused(tenant_a, order):
    with pytest.raises(DomainError) as caught:
        order_release(tenant=tenant_a, order_id=order.pk)
    assert caught.value.code == "no_active_hold" and caught.value.status == 409


def test_cancel_releases_stock(tenant_a, order):
    cancelled = order_cancel(tenant=tenant_a, order_id=order.pk, reason="customer asked")
    assert cancelled.state == "cancelled" and cancelled.cancel_reason == "customer asked"
    assert _allocated_units(tenant_a) == 0
    assert not Allocation.objects.for_tenant(tenant_a).exists()
    assert order.lines.get().quantity_allocated == 0


@pytest.mark.parametrize("state", ["partially_shipped", "shipped", "delivered", "completed", "cancelled"])
def test_cancel_after_shipping_is_illegal_and_changes_nothing(tenant_a, order, state):
    _force_state(order, state)
    with pytest.raises(DomainError) as caught:
        order_cancel(tenant=tenant_a, order_id=order.pk, reason="too late")
    assert caught.value.code == "illegal_transition" and caught.value.status == 409
    order.refresh_from_db()
    assert order.state == state and order.cancel_reason == ""
    assert _allocated_units(tenant_a) == 2


@pytest.mark.parametrize("state", ["partially_shipped", "shipped", "cancelled", "delivered"])
def test_hold_is_illegal_once_fulfillment_begins(tenant_a, order, state):
    _force_state(order, state)
    with pytest.raises(DomainError):
        order_hold(tenant=tenant_a, order_id=order.pk, reason="x")
    order.refresh_from_db()
    assert order.state == state
    assert not Hold.objects.for_tenant(tenant_a).filter(order=order).exists()


def test_fsm_field_cannot_be_assigned_directly(order):
    with pytest.raises(AttributeError):
        order.state = "shipped"


def test_model_transitions_follow_the_graph(tenant_a, order):
    order.start_fulfillment()
    assert order.state == "in_fulfillment"
    order.record_shipment(complete=False)
    assert order.state == "partially_shipped"
    order.record_shipment(complete=True)
    assert order.state == "shipped"
    order.deliver()
    order.complete()
    assert order.state == "completed"
    from django_fsm import TransitionNotAllowed

    with pytest.raises(TransitionNotAllowed):
        order.cancel(reason="x")


def test_backordered_order_is_allocated_when_stock_arrives_oldest_first(
    tenant_a, warehouses, sku_a, django_capture_on_commit_callbacks
):
    first, _ = order_create(tenant=tenant_a, data=order_input("OLD"))
    second, _ = order_create(tenant=tenant_a, data=order_input("NEW"))
    assert (first.state, second.state) == ("backordered", "backordered")
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(
            tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=warehouses[0].pk, quantity=2, reference="PO-1"
        )
    first.refresh_from_db()
    second.refresh_from_db()
    # allocated, then released to the warehouse at once (the tenant's fulfillment auto_release)
    assert (first.state, second.state) == ("in_fulfillment", "backordered")
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(
            tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=warehouses[0].pk, quantity=2, reference="PO-2"
        )
    second.refresh_from_db()
    assert second.state == "in_fulfillment"


def test_edit_changes_lines_reallocates_and_records_one_event(tenant_a, order):
    edited = order_edit(
        tenant=tenant_a,
        order_id=order.pk,
        lines=[
            LineInput(sku="SKU-123", quantity=3, unit_price=order.lines.get().unit_price),
            LineInput(sku="SKU-456", quantity=1, unit_price=order.lines.get().unit_price),
        ],
    )
    assert edited.state == "allocated"
    assert sorted((line.sku.code, line.quantity_allocated) for line in edited.lines.all()) == [
        ("SKU-123", 3),
        ("SKU-456", 1),
    ]
    event = edited.events.get(type="edited")
    assert event.data["before"]["lines"] == [{"sku": "SKU-123", "quantity": 2, "unit_price": "19.99"}]
    assert len(event.data["after"]["lines"]) == 2
    assert _allocated_units(tenant_a) == 4


def test_address_change_reallocates_to_the_new_nearest(tenant_a, order):
    la = {"line1": "1 Sunset Blvd", "city": "Los Angeles", "postal_code": "90001", "country": "US"}
    edited = order_edit(tenant=tenant_a, order_id=order.pk, ship_to=la)
    codes = list(
        Allocation.objects.for_tenant(tenant_a)
        .filter(order_line__order=edited)
        .values_list("warehouse__code", flat=True)
    )
    assert codes == ["W2"]
    assert edited.ship_to.city == "Los Angeles"


def test_edit_once_picking_began_is_refused(tenant_a, order):
    _force_state(order, "in_fulfillment")
    with pytest.raises(DomainError) as caught:
        order_edit(tenant=tenant_a, order_id=order.pk, service_level="express")
    assert caught.value.status == 409
    order.refresh_from_db()
    assert order.service_level == "standard"


def test_reallocate_and_allocate_are_idempotent(tenant_a, order):
    order_allocate(tenant=tenant_a, order_id=order.pk)
    order_reallocate(tenant=tenant_a, order_id=order.pk)
    assert _allocated_units(tenant_a) == 2
    assert Allocation.objects.for_tenant(tenant_a).get().quantity == 2


def test_another_tenants_order_does_not_exist(tenant_b, order):
    with pytest.raises(Order.DoesNotExist):
        order_cancel(tenant=tenant_b, order_id=order.pk)
    order.refresh_from_db()
    assert order.state == "allocated"


def test_a_small_receipt_stops_after_the_stock_is_gone(
    tenant_a, warehouses, sku_a, django_capture_on_commit_callbacks
):
    from orders.services import orders_allocate_backorders

    waiting = [order_create(tenant=tenant_a, data=order_input(f"B-{n}"))[0] for n in range(4)]
    assert {o.state for o in waiting} == {"backordered"}
    stock_receive(
        tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=warehouses[0].pk, quantity=3, reference="PO-9"
    )
    touched = orders_allocate_backorders(tenant=tenant_a, sku_ids=[sku_a.pk])
    states = [Order.objects.for_tenant(tenant_a).get(pk=o.pk).state for o in waiting]
    assert states == ["allocated", "partially_allocated", "backordered", "backordered"]
    assert touched == 2  # the third and fourth orders were not visited: nothing was left


def test_backorders_get_promise_dates_in_line_behind_older_orders(tenant_a, warehouses, sku_a):
    from datetime import timedelta

    from django.utils import timezone

    from inventory.services import inbound_create

    today = timezone.localdate()
    inbound_create(
        tenant=tenant_a,
        warehouse_id=warehouses[0].pk,
        lines=[(sku_a.pk, 2)],
        expected_at=today + timedelta(days=3),
        reference="PO-EARLY",
    )
    inbound_create(
        tenant=tenant_a,
        warehouse_id=warehouses[0].pk,
        lines=[(sku_a.pk, 2)],
        expected_at=today + timedelta(days=10),
        reference="PO-LATE",
    )
    first, _ = order_create(tenant=tenant_a, data=order_input("FIRST"))
    second, _ = order_create(tenant=tenant_a, data=order_input("SECOND"))
    third, _ = order_create(tenant=tenant_a, data=order_input("THIRD"))
    assert first.promise_date == today + timedelta(days=3)
    assert second.promise_date == today + timedelta(days=10)  # the early PO is the first order's
    assert third.promise_date is None  # nothing incoming covers it
