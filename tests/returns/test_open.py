"""Opening a return: the window, the quantity cap, the returnable flag, the RMA number, the audit."""

from __future__ import annotations

import pytest

from oms.core.errors import NotFoundError
from oms.models import AuditEvent
from orders.models import OrderEvent
from returns.errors import ReturnError
from returns.models import ReturnPolicy, ReturnRequest
from returns.services import ReturnLineInput, return_cancel, return_open
from tests.returns.factories import deliver, line_of, open_return, shipped_order


def test_a_return_opens_requested_with_an_rma_number_per_order(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=3)

    first = open_return(order, ("RET-1", 1, "wrong_size"))
    second = open_return(order, ("RET-2", 1, "defective"))

    assert first.state == second.state == "requested"
    assert first.rma_number == f"RMA-{order.number}-1"
    assert second.rma_number == f"RMA-{order.number}-2"
    assert first.warehouse.code == "DAL" and first.shipment.order_id == order.pk
    assert AuditEvent.objects.for_tenant(tenant_a).filter(action="return.opened").count() == 2
    note = OrderEvent.objects.for_tenant(tenant_a).filter(order=order, type="note").last()
    assert note.message.startswith(f"Return {second.rma_number}: requested (1 × RET-2")


@pytest.mark.parametrize(("days", "allowed"), [(0, True), (30, True), (31, False)])
def test_the_window_counts_days_from_delivery(tenant_a, days, allowed):
    order = shipped_order(tenant_a, delivered_days_ago=days)
    if allowed:
        assert open_return(order).state == "requested"
        return
    with pytest.raises(ReturnError) as refused:
        open_return(order)
    assert refused.value.code == "outside_return_window"
    assert "31 days ago" in refused.value.message and "30 days" in refused.value.message
    assert refused.value.extra["days_since_delivery"] == 31
    assert not ReturnRequest.objects.for_tenant(tenant_a).exists()


def test_without_a_delivery_the_window_counts_from_the_ship_date(tenant_a):
    order = shipped_order(tenant_a)
    deliver(order, days_ago=5)
    order.shipments.update(state="shipped", delivered_at=None)  # the carrier never said "delivered"
    order.shipments.update(shipped_at=order.shipments.get().shipped_at.replace(year=2020))

    with pytest.raises(ReturnError) as refused:
        open_return(order)
    assert refused.value.code == "outside_return_window"


def test_the_tenants_window_is_used(tenant_a):
    ReturnPolicy.objects.create(tenant=tenant_a, window_days=7)
    order = shipped_order(tenant_a, delivered_days_ago=8)

    with pytest.raises(ReturnError) as refused:
        open_return(order)
    assert refused.value.extra["window_days"] == 7


def test_never_more_than_shipped_minus_returned_or_requested(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)  # 2 × RET-1
    open_return(order, ("RET-1", 1, "wrong_size"))

    with pytest.raises(ReturnError) as refused:
        open_return(order, ("RET-1", 2, "wrong_size"))
    assert refused.value.code == "quantity_exceeds_returnable"
    assert refused.value.extra["returnable"] == 1
    assert "1 already returned or requested" in refused.value.message

    assert open_return(order, ("RET-1", 1, "defective")).state == "requested"
    with pytest.raises(ReturnError):
        open_return(order, ("RET-1", 1, "defective"))


def test_a_cancelled_return_gives_its_units_back(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = open_return(order, ("RET-1", 2, "wrong_size"))
    return_cancel(tenant=tenant_a, return_id=ret.pk, reason="changed my mind", actor="test")

    assert open_return(order, ("RET-1", 2, "wrong_size")).state == "requested"


def test_units_not_shipped_cannot_be_returned(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    line = line_of(order, "RET-2")
    type(line).objects.for_tenant(tenant_a).filter(pk=line.pk).update(quantity_shipped=0)

    with pytest.raises(ReturnError) as refused:
        open_return(order, ("RET-2", 1, "defective"))
    assert refused.value.code == "quantity_exceeds_returnable"


def test_a_final_sale_sku_is_not_returnable(tenant_a):
    order = shipped_order(tenant_a, (("RET-FINAL", 1),), delivered_days_ago=1)

    with pytest.raises(ReturnError) as refused:
        open_return(order, ("RET-FINAL", 1, "wrong_size"))
    assert refused.value.code == "not_returnable"
    assert refused.value.extra["skus"] == ["RET-FINAL"]


def test_a_line_of_another_order_is_refused(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    other = shipped_order(tenant_a, delivered_days_ago=1)

    with pytest.raises(ReturnError) as refused:
        return_open(
            tenant=tenant_a,
            order_id=order.pk,
            lines=[ReturnLineInput(line=line_of(other, "RET-1").pk, quantity=1, reason="other")],
        )
    assert refused.value.code == "unknown_order_line"


def test_a_marketplace_notification_opens_one_return(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    lines = [ReturnLineInput(line=line_of(order, "RET-1").pk, quantity=1, reason="wrong_size")]

    first, created = return_open(
        tenant=tenant_a, order_id=order.pk, lines=lines, source="shopify", external_id="gid://Return/1"
    )
    again, created_again = return_open(
        tenant=tenant_a, order_id=order.pk, lines=lines, source="shopify", external_id="gid://Return/1"
    )

    assert created and not created_again and again.pk == first.pk
    assert first.source == "shopify"


def test_another_tenants_order_is_not_found(tenant_a, tenant_b):
    order = shipped_order(tenant_a, delivered_days_ago=1)

    with pytest.raises(NotFoundError):
        return_open(
            tenant=tenant_b,
            order_id=order.pk,
            lines=[ReturnLineInput(line=line_of(order, "RET-1").pk, quantity=1, reason="other")],
        )
    assert not ReturnRequest.objects.for_tenant(tenant_a).exists()
