"""A cancelled order is never authorized or captured; its cancel gives back every payment, even in flight."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from oms.core.errors import ConflictError
from orders.models import Payment
from orders.payments import PaymentGatewayUnavailable, register_gateway
from orders.payments.policies import payments_release_cancelled
from orders.payments.recorders import payment_record_authorized
from orders.payments.services import payment_authorize, payment_capture
from orders.services import order_cancel, order_create
from orders.states import PaymentState
from orders.tasks import payment_authorize_task, payments_for_order_cancel_task
from tests.oms.factories import TenantFactory
from tests.orders.conftest import order_input
from tests.orders.payments.factories import make_order
from tests.orders.payments.gateways import BlockingGateway

CARD = {"provider": "sandbox", "payment_method": "pm_card_visa"}


def _set_policy(tenant, capture):
    tenant.capture_policy = capture
    tenant.save(update_fields=["capture_policy"])


def _methods(gateway):
    return [method for method, _ in gateway.calls]


@pytest.mark.parametrize("policy", ["on_shipment", "on_order"])
def test_an_authorize_task_that_runs_after_the_cancel_takes_nothing(tenant_a, stocked, sandbox, policy):
    _set_policy(tenant_a, policy)
    order, _ = order_create(tenant=tenant_a, data=order_input(payment=CARD))  # its task is enqueued on commit
    order_cancel(tenant=tenant_a, order_id=order.pk, reason="changed my mind")

    with pytest.raises(ConflictError) as exc:
        payment_authorize_task(tenant_id=tenant_a.pk, order_id=order.pk, **CARD)

    assert exc.value.code == "order_cancelled"
    assert sandbox.calls == []
    assert not Payment.objects.for_tenant(tenant_a).filter(order=order).exists()


def test_a_cancelled_orders_payment_is_not_captured(tenant_a, order_a, sandbox):
    payment = payment_authorize(
        tenant=tenant_a, order=order_a, payment_method="pm_card_visa", provider="sandbox"
    )
    order_cancel(tenant=tenant_a, order_id=order_a.pk, reason="fraud")

    with pytest.raises(ConflictError) as exc:
        payment_capture(tenant=tenant_a, payment_id=payment.pk)

    assert exc.value.code == "order_cancelled"
    assert _methods(sandbox) == ["authorize"]
    assert Payment.objects.for_tenant(tenant_a).get(pk=payment.pk).state == PaymentState.AUTHORIZED


def _race(gateway, first, then):
    """Run `first` in a thread until the provider has done its work, run `then`, let the answer land."""
    results: list[object] = []

    def run() -> None:
        try:
            results.append(first())
        except Exception as exc:  # pragma: no cover - reported through results
            results.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert gateway.entered.wait(10)
    try:
        then()
    finally:
        gateway.release.set()
        thread.join(10)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("policy", ["on_shipment", "on_order"])
def test_an_authorization_in_flight_at_the_cancel_is_voided_as_soon_as_it_lands(
    settings, monkeypatch, policy
):
    settings.PAYMENT_OPERATION_WAIT_SECONDS = 0.2
    monkeypatch.setattr(
        "orders.services.enqueue_on_commit", lambda *args, **kwargs: None
    )  # run by hand below
    tenant = TenantFactory(slug=f"late-auth-{policy}", capture_policy=policy)
    gateway = BlockingGateway("authorize")
    register_gateway("blocking", lambda t: gateway)
    order = make_order(tenant)

    def cancel() -> None:
        order_cancel(tenant=tenant, order_id=order.pk, reason="changed my mind")
        with pytest.raises(
            PaymentGatewayUnavailable
        ):  # the cancel waits for the authorization, retries later
            payments_for_order_cancel_task(tenant_id=tenant.pk, order_id=order.pk)

    results = _race(
        gateway,
        lambda: (
            payment_authorize(
                tenant=tenant, order=order, provider="blocking", payment_method="pm_card_visa"
            ).state
        ),
        cancel,
    )

    assert results == [PaymentState.VOIDED]  # voided by the authorization's own caller, at once
    payments_for_order_cancel_task(tenant_id=tenant.pk, order_id=order.pk)  # the cancel's retry: nothing left
    payment = Payment.objects.for_tenant(tenant).get(order=order)
    assert (payment.state, payment.amount_captured) == (PaymentState.VOIDED, Decimal("0.00"))
    assert _methods(gateway) == ["authorize", "void"]


@pytest.mark.django_db(transaction=True)
def test_a_capture_in_flight_at_the_cancel_is_refunded_as_soon_as_it_lands(settings, monkeypatch):
    settings.PAYMENT_OPERATION_WAIT_SECONDS = 0.2
    monkeypatch.setattr("orders.services.enqueue_on_commit", lambda *args, **kwargs: None)
    tenant = TenantFactory(slug="late-capture")
    gateway = BlockingGateway("capture")
    register_gateway("blocking", lambda t: gateway)
    order = make_order(tenant, total="60.00")
    payment = payment_authorize(
        tenant=tenant, order=order, provider="blocking", payment_method="pm_card_visa"
    )

    def cancel() -> None:
        order_cancel(tenant=tenant, order_id=order.pk, reason="out of stock")
        with pytest.raises(PaymentGatewayUnavailable):
            payments_for_order_cancel_task(tenant_id=tenant.pk, order_id=order.pk)

    results = _race(gateway, lambda: payment_capture(tenant=tenant, payment_id=payment.pk).state, cancel)

    assert results == [PaymentState.REFUNDED]
    payments_for_order_cancel_task(tenant_id=tenant.pk, order_id=order.pk)
    payment = Payment.objects.for_tenant(tenant).get(pk=payment.pk)
    assert (payment.amount_captured, payment.amount_refunded) == (Decimal("60.00"), Decimal("60.00"))
    assert _methods(gateway) == ["authorize", "capture", "refund"]


def test_an_authorization_reported_late_by_the_provider_is_voided(
    tenant_a, order_a, sandbox, django_capture_on_commit_callbacks
):
    # 3-D Secure: the payment waited for the customer; the order was cancelled meanwhile.
    intent = sandbox.authorize(
        amount=Decimal("100.00"),
        currency="USD",
        payment_method="pm_card_visa",
        idempotency_key="3ds",
        metadata={},
    )
    payment = Payment.objects.create(
        tenant=tenant_a, order=order_a, provider="sandbox", provider_id=intent.provider_id, currency="USD"
    )
    order_cancel(tenant=tenant_a, order_id=order_a.pk, reason="too slow")

    with django_capture_on_commit_callbacks(execute=True):
        payment_record_authorized(
            tenant=tenant_a, payment_id=payment.pk, amount=Decimal("100.00"), actor="stripe"
        )

    assert Payment.objects.for_tenant(tenant_a).get(pk=payment.pk).state == PaymentState.VOIDED
    assert _methods(sandbox) == ["authorize", "void"]


def test_the_sweep_gives_back_what_a_lost_cancel_task_left(tenant_a, order_a, sandbox):
    payment = payment_authorize(
        tenant=tenant_a, order=order_a, payment_method="pm_card_visa", provider="sandbox"
    )
    order_cancel(tenant=tenant_a, order_id=order_a.pk, reason="dup")  # its task never ran

    assert payments_release_cancelled(now=timezone.now()) == 0  # a fresh cancel's own task is still due
    assert payments_release_cancelled(now=timezone.now() + timedelta(minutes=10)) == 1

    assert Payment.objects.for_tenant(tenant_a).get(pk=payment.pk).state == PaymentState.VOIDED
    assert payments_release_cancelled(now=timezone.now() + timedelta(minutes=10)) == 0
