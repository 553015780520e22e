"""order_complete: a delivered order whose return window is over becomes completed, once, with its
timeline and audit; any other state is refused; another tenant's order is not found."""

from __future__ import annotations

import pytest

from oms.models import AuditEvent
from orders.errors import OrderConflict
from orders.models import Order
from orders.services import order_complete, order_create
from orders.states import OrderEventType, OrderState
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed(tenant_a, stocked):
    order, _ = order_create(tenant=tenant_a, data=order_input("COMPLETE-1"))
    return order


def test_a_delivered_order_completes_once_with_its_timeline_and_audit(tenant_a, placed):
    Order.objects.for_tenant(placed.tenant).filter(pk=placed.pk).update(state=OrderState.DELIVERED)

    done = order_complete(tenant=tenant_a, order_id=placed.pk, actor="system:test", message="Window closed")
    again = order_complete(tenant=tenant_a, order_id=placed.pk, actor="system:test")

    assert done.state == again.state == OrderState.COMPLETED
    moves = placed.events.filter(type=OrderEventType.TRANSITION, to_state=OrderState.COMPLETED)
    assert list(moves.values_list("from_state", "message")) == [(OrderState.DELIVERED, "Window closed")]
    assert AuditEvent.objects.filter(tenant=tenant_a, action="order.completed").count() == 1


def test_an_order_not_yet_delivered_is_refused(tenant_a, placed):
    with pytest.raises(OrderConflict, match="only a delivered order can be completed"):
        order_complete(tenant=tenant_a, order_id=placed.pk)
    placed.refresh_from_db()
    assert placed.state != OrderState.COMPLETED


def test_another_tenants_order_is_not_found(tenant_b, placed):
    Order.objects.for_tenant(placed.tenant).filter(pk=placed.pk).update(state=OrderState.DELIVERED)
    with pytest.raises(Order.DoesNotExist):
        order_complete(tenant=tenant_b, order_id=placed.pk)
    placed.refresh_from_db()
    assert placed.state == OrderState.DELIVERED
