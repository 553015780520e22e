"""Exchanges: a replacement order placed and allocated like any order, and the price difference."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Hold, Order, Payment
from returns.errors import ReturnConflict, ReturnError
from returns.exchanges import return_exchange
from returns.services import ExchangeLineInput, return_inspect
from tests.returns.factories import authorized_return, receive_all, shipped_order


def inspected_exchange(order, returned, wanted):
    ret = authorized_return(
        order,
        returned,
        resolution="exchange",
        exchange_lines=[ExchangeLineInput(sku=code, quantity=q) for code, q in wanted],
    )
    receive_all(ret)
    return return_inspect(tenant=order.tenant, return_id=ret.pk, actor="test")


def test_an_exchange_places_and_allocates_a_replacement_order(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = inspected_exchange(order, ("RET-1", 1, "wrong_size"), [("RET-1", 1)])

    ret = return_exchange(tenant=tenant_a, return_id=ret.pk, actor="test")
    again = return_exchange(tenant=tenant_a, return_id=ret.pk, actor="test")

    assert ret.state == "exchanged" and again.exchange_order_id == ret.exchange_order_id
    replacement = Order.objects.for_tenant(tenant_a).get(pk=ret.exchange_order_id)
    assert (replacement.channel, replacement.external_id) == ("exchange", ret.rma_number)
    assert replacement.state in ("allocated", "in_fulfillment")
    assert replacement.total == Decimal("0.00") and replacement.discount == Decimal("30.00")
    assert replacement.customer_id == order.customer_id
    assert replacement.ship_to.line1 == order.ship_to.line1
    [line] = replacement.lines.all()
    assert (line.sku.code, line.quantity, line.quantity_allocated) == ("RET-1", 1, 1)
    assert not ret.refunds.exists()


def test_a_cheaper_replacement_refunds_the_difference(tenant_a, django_capture_on_commit_callbacks):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = inspected_exchange(order, ("RET-1", 1, "wrong_size"), [("RET-2", 1)])

    with django_capture_on_commit_callbacks(execute=True):
        ret = return_exchange(tenant=tenant_a, return_id=ret.pk, actor="test")

    assert ret.state == "exchanged" and ret.refund_amount == Decimal("20.00")
    assert ret.refunds.get().state == "succeeded"
    assert Payment.objects.for_tenant(tenant_a).get(order=order).amount_refunded == Decimal("20.00")


def test_a_dearer_replacement_waits_on_a_payment_due_hold(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = inspected_exchange(order, ("RET-2", 1, "wrong_size"), [("RET-1", 1)])

    ret = return_exchange(tenant=tenant_a, return_id=ret.pk, actor="test")

    replacement = Order.objects.for_tenant(tenant_a).get(pk=ret.exchange_order_id)
    assert replacement.state == "on_hold" and replacement.total == Decimal("20.00")
    hold = Hold.objects.for_tenant(tenant_a).get(order=replacement)
    assert hold.kind == "payment_due" and "owes 20.00 USD" in hold.reason
    assert not ret.refunds.exists()


def test_an_exchange_needs_an_inspected_exchange_return(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = authorized_return(
        order,
        ("RET-1", 1, "wrong_size"),
        resolution="exchange",
        exchange_lines=[ExchangeLineInput(sku="RET-2", quantity=1)],
    )
    with pytest.raises(ReturnConflict):
        return_exchange(tenant=tenant_a, return_id=ret.pk, actor="test")


def test_an_exchange_names_known_skus(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    with pytest.raises(ReturnError) as refused:
        authorized_return(
            order,
            ("RET-1", 1, "wrong_size"),
            resolution="exchange",
            exchange_lines=[ExchangeLineInput(sku="NOPE", quantity=1)],
        )
    assert refused.value.code == "unknown_sku"
    with pytest.raises(ReturnError) as refused:
        authorized_return(order, ("RET-1", 1, "wrong_size"), resolution="exchange")
    assert refused.value.code == "exchange_lines_required"
