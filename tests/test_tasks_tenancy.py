"""Every task that takes a tenant_id acts only inside that tenant: another tenant's ids do not exist."""

from __future__ import annotations

import pytest
from django.core.exceptions import ObjectDoesNotExist

from integrations.models import InboundEvent
from oms.core.errors import NotFoundError
from oms.models import AuditEvent
from oms.tasks import worker_ping_task
from orders.models import Order, Payment
from orders.services import order_create
from orders.tasks import (
    order_allocate_task,
    orders_allocate_backorders_task,
    payment_authorize_task,
    payment_capture_for_shipment_task,
    payment_refund_task,
    payments_for_order_cancel_task,
    payments_for_order_edit_task,
)
from tests.inventory.conftest import sku_a, sku_b, warehouses  # noqa: F401
from tests.orders.conftest import order_input, stocked  # noqa: F401


def _not_found(exc):
    return isinstance(exc, ObjectDoesNotExist | NotFoundError)


@pytest.fixture
def order_a(tenant_a, stocked):  # noqa: F811
    return order_create(tenant=tenant_a, data=order_input())[0]


def test_order_tasks_with_another_tenants_id_find_nothing(tenant_a, tenant_b, order_a):
    calls = [
        lambda: order_allocate_task(tenant_id=tenant_b.pk, order_id=order_a.pk),
        lambda: payment_authorize_task(
            tenant_id=tenant_b.pk, order_id=order_a.pk, provider="sandbox", payment_method="pm_card_visa"
        ),
        lambda: payments_for_order_cancel_task(tenant_id=tenant_b.pk, order_id=order_a.pk),
        lambda: payments_for_order_edit_task(tenant_id=tenant_b.pk, order_id=order_a.pk),
        lambda: payment_capture_for_shipment_task(
            tenant_id=tenant_b.pk, order_id=order_a.pk, shipment_amount="1.00", shipment_ref="s1"
        ),
    ]
    for call in calls:
        # either the order is not found, or there is nothing of tenant B's to act on: never A's order
        try:
            call()
        except Exception as exc:
            assert _not_found(exc), exc
    order_a.refresh_from_db()
    assert order_a.state == "allocated"
    assert not Payment.objects.unscoped().exists()


def test_refund_task_with_another_tenants_payment_finds_nothing(tenant_a, tenant_b, order_a):
    with pytest.raises(Exception) as caught:
        payment_refund_task(tenant_id=tenant_b.pk, payment_id=10**6, amount="1.00", request_ref="x")
    assert _not_found(caught.value)


def test_backorder_task_for_another_tenant_leaves_this_tenants_orders(tenant_a, tenant_b, warehouses, sku_a):  # noqa: F811
    waiting, _ = order_create(tenant=tenant_a, data=order_input("WAIT"))
    assert waiting.state == "backordered"
    orders_allocate_backorders_task(tenant_id=tenant_b.pk, sku_ids=[sku_a.pk])
    waiting.refresh_from_db()
    assert waiting.state == "backordered"
    assert Order.objects.for_tenant(tenant_b).count() == 0


def test_worker_ping_writes_into_its_own_tenant_only(tenant_a, tenant_b):
    worker_ping_task(tenant_id=tenant_b.pk, token="t-1")
    assert AuditEvent.objects.for_tenant(tenant_b).filter(object_id="t-1").exists()
    assert not AuditEvent.objects.for_tenant(tenant_a).filter(object_id="t-1").exists()


def test_inbound_event_task_with_another_tenants_event_finds_nothing(tenant_a, tenant_b):
    from integrations.tasks import inbound_event_process_task

    assert not InboundEvent.objects.unscoped().exists()
    with pytest.raises(Exception) as caught:
        inbound_event_process_task(tenant_id=tenant_b.pk, event_id=10**6)
    assert _not_found(caught.value)
