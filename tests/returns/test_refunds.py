"""Refunds for returns: what a return is worth, the policy's deductions, the caps, and the money
going back once through the payment services (the sandbox here; Stripe's SDK against
localstripe in test_refunds_stripe.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fulfillment.models import Label
from oms.core.errors import DomainError
from oms.models import Role
from orders.models import Payment
from orders.payments.services import payment_refund
from returns.errors import ReturnConflict, ReturnError
from returns.models import ReturnPolicy
from returns.refunds import refund_quote, return_refund
from returns.services import return_close, return_inspect
from returns.tasks import return_refund_task
from tests.returns.factories import authorized_return, receive_all, shipped_order
from tests.worlds import staff


def inspected(order, *items, **kwargs):
    ret = receive_all(authorized_return(order, *items), **kwargs)
    return return_inspect(tenant=order.tenant, return_id=ret.pk, actor="test")


def payment_of(order) -> Payment:
    return Payment.objects.for_tenant(order.tenant_id).get(order=order)


def test_a_full_refund_goes_back_once_and_the_return_is_refunded(
    tenant_a, django_capture_on_commit_callbacks
):
    order = shipped_order(tenant_a, delivered_days_ago=1)  # 2 × 30.00 + 1 × 10.00 + 5.00 shipping
    ret = inspected(order, ("RET-1", 2, "wrong_size"))

    with django_capture_on_commit_callbacks(execute=True):
        ret = return_refund(tenant=tenant_a, return_id=ret.pk, actor="test")
    with django_capture_on_commit_callbacks(execute=True) as again:
        return_refund(tenant=tenant_a, return_id=ret.pk, actor="test")

    ret.refresh_from_db()
    assert ret.state == "refunded" and ret.refund_amount == Decimal("60.00")
    assert again == []
    payment = payment_of(order)
    assert payment.amount_refunded == Decimal("60.00") and payment.state == "partially_refunded"
    [refund] = ret.refunds.all()
    assert (refund.state, refund.amount) == ("succeeded", Decimal("60.00"))
    return_refund_task(tenant_id=tenant_a.pk, return_id=ret.pk)  # a second delivery of the task
    assert payment_of(order).amount_refunded == Decimal("60.00")


def test_the_restocking_fee_applies_to_the_customers_reasons_only(tenant_a):
    ReturnPolicy.objects.create(tenant=tenant_a, restocking_fee_percent=Decimal("10"))
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = inspected(order, ("RET-1", 2, "wrong_size"))

    quote = refund_quote(ret)
    assert (quote.goods, quote.restocking_fee, quote.total) == (
        Decimal("60.00"),
        Decimal("6.00"),
        Decimal("54.00"),
    )

    faulty = inspected(shipped_order(tenant_a, delivered_days_ago=1), ("RET-1", 1, "defective"))
    assert refund_quote(faulty).restocking_fee == Decimal("0.00")
    assert refund_quote(faulty).total == Decimal("30.00")


def test_the_customer_pays_the_label_when_the_policy_says_so(tenant_a):
    ReturnPolicy.objects.create(tenant=tenant_a, label_payer="customer")
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = inspected(order, ("RET-2", 1, "no_longer_needed"))
    label = Label.objects.create(
        tenant=tenant_a,
        shipment=ret.shipment,
        reference="r1",
        is_return=True,
        state="purchased",
        amount="7.50",
    )
    type(ret).objects.for_tenant(tenant_a).filter(pk=ret.pk).update(label=label)
    ret.refresh_from_db()

    quote = refund_quote(ret)
    assert (quote.label_cost, quote.total) == (Decimal("7.50"), Decimal("2.50"))
    assert "minus 7.50 return label" in quote.describe()


def test_only_received_units_are_refunded_with_tax_and_discount_shares(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    type(order).objects.for_tenant(tenant_a).filter(pk=order.pk).update(
        tax=Decimal("7.00"), discount=Decimal("14.00")
    )
    ret = authorized_return(order, ("RET-1", 2, "wrong_size"))
    from returns.services import ReceiptInput, return_receive
    from tests.returns.factories import dallas

    return_receive(
        tenant=tenant_a,
        return_id=ret.pk,
        receipts=[ReceiptInput(ret.lines.get().pk, 1, "new", "restock", dallas(tenant_a).pk)],
    )
    ret = return_inspect(tenant=tenant_a, return_id=ret.pk)
    # one jacket: 30.00 + 30/70 of the 7.00 tax - 30/70 of the 14.00 discount
    assert refund_quote(ret).goods == Decimal("27.00")


def test_never_more_than_captured_minus_refunded(tenant_a, django_capture_on_commit_callbacks):
    order = shipped_order(tenant_a, delivered_days_ago=1)  # 75.00 captured
    payment_refund(
        tenant=tenant_a, payment_id=payment_of(order).pk, amount=Decimal("50"), request_ref="manual:1"
    )
    ret = inspected(order, ("RET-1", 2, "wrong_size"))

    with pytest.raises(ReturnError) as refused:
        return_refund(tenant=tenant_a, return_id=ret.pk, actor="test")
    assert refused.value.code == "refund_exceeds_refundable"
    assert refused.value.extra["refundable"] == "25.00"
    assert not ret.refunds.exists()

    with django_capture_on_commit_callbacks(execute=True):
        return_refund(tenant=tenant_a, return_id=ret.pk, amount=Decimal("25.00"), actor="test")
    ret.refresh_from_db()
    assert ret.state == "refunded"
    assert payment_of(order).state == "refunded"


def test_an_order_paid_elsewhere_cannot_be_refunded_here(tenant_a):
    order = shipped_order(tenant_a, provider=None, delivered_days_ago=1)
    ret = inspected(order, ("RET-2", 1, "defective"))

    with pytest.raises(ReturnConflict) as refused:
        return_refund(tenant=tenant_a, return_id=ret.pk, actor="test")
    assert refused.value.code == "no_captured_payment"
    assert (
        return_close(tenant=tenant_a, return_id=ret.pk, reason="refunded on the marketplace").state
        == "closed"
    )


def test_support_agents_refund_up_to_their_limit(tenant_a):
    tenant_a.agent_refund_limit = Decimal("20.00")
    tenant_a.save()
    agent = staff(tenant_a, Role.AGENT, "agent@acme.test")
    ret = inspected(shipped_order(tenant_a, delivered_days_ago=1), ("RET-1", 2, "wrong_size"))

    with pytest.raises(DomainError) as refused:
        return_refund(tenant=tenant_a, return_id=ret.pk, actor=agent)
    assert refused.value.code == "refund_over_agent_limit"
    assert (
        return_refund(tenant=tenant_a, return_id=ret.pk, amount=Decimal("20.00"), actor=agent).refunds.count()
        == 1
    )


def test_a_refund_before_inspection_is_refused(tenant_a):
    ret = receive_all(authorized_return(shipped_order(tenant_a, delivered_days_ago=1)))

    with pytest.raises(ReturnConflict) as refused:
        return_refund(tenant=tenant_a, return_id=ret.pk, actor="test")
    assert refused.value.code == "illegal_transition"
