"""A return's refund through the real Stripe SDK against localstripe on 127.0.0.1: the money goes
back once, even when the refund task is killed after Stripe answered and runs again."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.stripe.gateway import stripe_client
from orders.models import Payment
from returns import refunds
from returns.refunds import return_refund
from returns.services import return_inspect
from returns.tasks import return_refund_task
from tests.orders.payments.factories import make_stripe_account
from tests.returns.factories import authorized_return, receive_all, shipped_order


class WorkerKilled(BaseException):
    """The worker process died (SIGKILL): nothing after this line ran."""


@pytest.fixture
def stripe_account(tenant_a, localstripe_url):
    return make_stripe_account(tenant_a, localstripe_url)


def stripe_refunds(account, payment):
    listed = stripe_client(account).v1.refunds.list(params={"payment_intent": payment.provider_id})
    return [refund.amount for refund in listed.data]


def test_a_refund_task_killed_after_stripe_answered_refunds_once(
    tenant_a, stripe_account, monkeypatch, django_capture_on_commit_callbacks
):
    order = shipped_order(tenant_a, provider="stripe", delivered_days_ago=1)  # 75.00 captured at Stripe
    payment = Payment.objects.for_tenant(tenant_a).get(order=order)
    assert payment.state == "captured" and payment.provider_id.startswith("pi_")
    ret = receive_all(authorized_return(order, ("RET-1", 1, "wrong_size")))
    return_inspect(tenant=tenant_a, return_id=ret.pk)
    with django_capture_on_commit_callbacks(execute=False):  # the task is in the outbox, not run yet
        return_refund(tenant=tenant_a, return_id=ret.pk, actor="test")

    real_record = refunds.refund_row_record
    killed = []

    def dies_once(**kwargs):
        if not killed:
            killed.append(kwargs)
            raise WorkerKilled
        return real_record(**kwargs)

    monkeypatch.setattr(refunds, "refund_row_record", dies_once)
    with pytest.raises(WorkerKilled):
        return_refund_task(tenant_id=tenant_a.pk, return_id=ret.pk)
    ret.refresh_from_db()
    assert ret.state == "inspected" and ret.refunds.get().state == "pending"
    assert stripe_refunds(stripe_account, payment) == [3000]  # Stripe refunded before the kill

    assert return_refund_task(tenant_id=tenant_a.pk, return_id=ret.pk) == "refunded"  # the redelivery

    assert stripe_refunds(stripe_account, payment) == [3000]
    ret.refresh_from_db()
    assert ret.state == "refunded"
    refund = ret.refunds.get()
    assert refund.state == "succeeded" and refund.provider_id.startswith("re_")
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("30.00") and payment.state == "partially_refunded"


def test_a_declined_refund_leaves_the_return_inspected_for_staff(
    tenant_a, stripe_account, monkeypatch, django_capture_on_commit_callbacks
):
    from orders.payments import PaymentDeclined
    from orders.payments import services as payment_services

    order = shipped_order(tenant_a, provider="stripe", delivered_days_ago=1)
    ret = receive_all(authorized_return(order, ("RET-2", 1, "defective")))
    return_inspect(tenant=tenant_a, return_id=ret.pk)

    def declines(**kwargs):
        raise PaymentDeclined("The card was closed.", failure_code="card_closed")

    monkeypatch.setattr(refunds, "payment_refund", declines)
    with django_capture_on_commit_callbacks(execute=True):
        return_refund(tenant=tenant_a, return_id=ret.pk, actor="test")
    ret.refresh_from_db()
    assert ret.state == "inspected"
    assert ret.refunds.get().state == "failed" and "card was closed" in ret.refunds.get().error

    monkeypatch.setattr(refunds, "payment_refund", payment_services.payment_refund)
    with django_capture_on_commit_callbacks(execute=True):
        return_refund(tenant=tenant_a, return_id=ret.pk, actor="test")
    ret.refresh_from_db()
    assert ret.state == "refunded"
    payment = Payment.objects.for_tenant(tenant_a).get(order=order)
    assert stripe_refunds(stripe_account, payment) == [1000]
