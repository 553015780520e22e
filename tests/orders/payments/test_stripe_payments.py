"""The payment services through the real Stripe SDK against localstripe on 127.0.0.1."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from integrations.stripe.gateway import StripeGateway, stripe_client
from oms.core.errors import ConflictError, DomainError
from orders.models import OrderEvent, Payment, PaymentOperation
from orders.payments import PaymentDeclined
from orders.payments.services import (
    payment_authorize,
    payment_capture,
    payment_reauthorize,
    payment_refund,
    payment_void,
)
from orders.services import order_edit
from orders.states import OperationState, PaymentState
from tests.oms.factories import TenantFactory
from tests.orders.payments.factories import lines, make_order, make_stripe_account, place_order


def _authorize(tenant, order, pm="pm_card_visa", **kw):
    return payment_authorize(tenant=tenant, order=order, provider="stripe", payment_method=pm, **kw)


def _intent(account, payment):
    return stripe_client(account).v1.payment_intents.retrieve(payment.provider_id)


def test_authorize_holds_the_order_total(tenant_a, stripe_a, order_a):
    payment = _authorize(tenant_a, order_a)

    assert payment.state == PaymentState.AUTHORIZED
    assert payment.amount_authorized == Decimal("100.00")
    assert payment.provider_id.startswith("pi_")
    assert payment.authorization_expires_at is not None
    pi = _intent(stripe_a, payment)
    assert pi.status == "requires_capture"
    assert pi.amount == 10000
    assert pi.metadata.to_dict()["order"] == str(order_a.pk)
    assert OrderEvent.objects.for_tenant(tenant_a).filter(order=order_a, type="payment").count() == 1


def test_authorize_twice_for_one_order_makes_one_payment(tenant_a, stripe_a, order_a):
    first = _authorize(tenant_a, order_a)
    again = _authorize(tenant_a, order_a)

    assert again.pk == first.pk
    assert Payment.objects.for_tenant(tenant_a).filter(order=order_a).count() == 1


def test_capture_then_partial_refund(tenant_a, stripe_a, order_a):
    payment = _authorize(tenant_a, order_a)

    payment = payment_capture(tenant=tenant_a, payment_id=payment.pk)
    assert payment.state == PaymentState.CAPTURED
    assert payment.amount_captured == Decimal("100.00")
    assert _intent(stripe_a, payment).status == "succeeded"

    op = payment_refund(
        tenant=tenant_a, payment_id=payment.pk, amount=Decimal("30.00"), request_ref="return:1"
    )
    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert op.state == OperationState.SUCCEEDED
    assert op.provider_id.startswith("re_")
    assert payment.state == PaymentState.PARTIALLY_REFUNDED
    assert payment.amount_refunded == Decimal("30.00")
    refunds = stripe_client(stripe_a).v1.refunds.list(params={"payment_intent": payment.provider_id})
    assert [r.amount for r in refunds.data] == [3000]


def test_partial_capture_takes_part_of_the_authorization(tenant_a, stripe_a, order_a):
    payment = _authorize(tenant_a, order_a)

    payment = payment_capture(tenant=tenant_a, payment_id=payment.pk, amount=Decimal("80.00"))

    assert payment.amount_captured == Decimal("80.00")
    with pytest.raises(DomainError) as exc:
        payment_refund(tenant=tenant_a, payment_id=payment.pk, amount=Decimal("80.01"), request_ref="r:1")
    assert exc.value.code == "refund_exceeds_captured"


def test_capture_more_than_authorized_is_refused(tenant_a, stripe_a, order_a):
    payment = _authorize(tenant_a, order_a)

    with pytest.raises(DomainError) as exc:
        payment_capture(tenant=tenant_a, payment_id=payment.pk, amount=Decimal("100.01"))

    assert exc.value.code == "capture_exceeds_authorized"
    assert not PaymentOperation.objects.for_tenant(tenant_a).filter(payment=payment, kind="capture").exists()


def test_over_refund_is_refused_and_changes_nothing(tenant_a, stripe_a, order_a):
    payment = payment_capture(tenant=tenant_a, payment_id=_authorize(tenant_a, order_a).pk)
    payment_refund(tenant=tenant_a, payment_id=payment.pk, amount=Decimal("60.00"), request_ref="return:1")
    ops_before = PaymentOperation.objects.for_tenant(tenant_a).count()

    with pytest.raises(DomainError) as exc:
        payment_refund(
            tenant=tenant_a, payment_id=payment.pk, amount=Decimal("40.01"), request_ref="return:2"
        )

    assert exc.value.code == "refund_exceeds_captured"
    assert exc.value.status == 422
    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert payment.amount_refunded == Decimal("60.00")
    assert payment.state == PaymentState.PARTIALLY_REFUNDED
    assert PaymentOperation.objects.for_tenant(tenant_a).count() == ops_before
    refunds = stripe_client(stripe_a).v1.refunds.list(params={"payment_intent": payment.provider_id})
    assert len(refunds.data) == 1


def test_the_database_refuses_refunded_above_captured(tenant_a, stripe_a, order_a):
    payment = payment_capture(tenant=tenant_a, payment_id=_authorize(tenant_a, order_a).pk)

    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.for_tenant(tenant_a).filter(pk=payment.pk).update(amount_refunded=Decimal("100.01"))


def test_declined_card_fails_the_payment(tenant_a, stripe_a, order_a):
    # localstripe declines the charge of pm_card_chargeCustomerFail (4000000000000341).
    payment = _authorize(tenant_a, order_a, pm="pm_card_chargeCustomerFail")

    assert payment.state == PaymentState.FAILED
    assert payment.failure_code == "card_declined"
    assert payment.failure_message
    op = PaymentOperation.objects.for_tenant(tenant_a).get(payment=payment)
    assert op.state == OperationState.FAILED
    event = OrderEvent.objects.for_tenant(tenant_a).get(order=order_a, type="payment")
    assert "declined" in event.message


def test_unknown_test_card_is_a_definitive_failure(tenant_a, stripe_a, order_a):
    # Real Stripe declines pm_card_chargeDeclined; localstripe does not know it and answers 404.
    # Either way it is a refusal, not something to retry.
    payment = _authorize(tenant_a, order_a, pm="pm_card_chargeDeclined")

    assert payment.state == PaymentState.FAILED
    assert payment.failure_code


def test_void_releases_the_authorization(tenant_a, stripe_a, order_a):
    payment = _authorize(tenant_a, order_a)

    payment = payment_void(tenant=tenant_a, payment_id=payment.pk)

    assert payment.state == PaymentState.VOIDED
    assert _intent(stripe_a, payment).status == "canceled"
    assert payment_void(tenant=tenant_a, payment_id=payment.pk).state == PaymentState.VOIDED


def test_a_retried_capture_does_not_call_stripe_again(tenant_a, stripe_a, order_a, monkeypatch):
    payment = _authorize(tenant_a, order_a)
    calls = []
    real_capture = StripeGateway.capture

    def counting(self, **kwargs):
        calls.append(kwargs["idempotency_key"])
        return real_capture(self, **kwargs)

    monkeypatch.setattr(StripeGateway, "capture", counting)

    first = payment_capture(tenant=tenant_a, payment_id=payment.pk)
    again = payment_capture(tenant=tenant_a, payment_id=payment.pk)

    assert len(calls) == 1
    assert calls[0] == f"{tenant_a.pk}:payment:{payment.pk}:capture:order"
    assert first.amount_captured == again.amount_captured == Decimal("100.00")


def test_a_retried_refund_with_the_same_request_ref_refunds_once(tenant_a, stripe_a, order_a):
    payment = payment_capture(tenant=tenant_a, payment_id=_authorize(tenant_a, order_a).pk)

    first = payment_refund(
        tenant=tenant_a, payment_id=payment.pk, amount=Decimal("10"), request_ref="return:9"
    )
    again = payment_refund(
        tenant=tenant_a, payment_id=payment.pk, amount=Decimal("10"), request_ref="return:9"
    )

    assert again.pk == first.pk
    assert Payment.objects.for_tenant(tenant_a).get(pk=payment.pk).amount_refunded == Decimal("10.00")
    refunds = stripe_client(stripe_a).v1.refunds.list(params={"payment_intent": payment.provider_id})
    assert len(refunds.data) == 1
    with pytest.raises(ConflictError):
        payment_refund(tenant=tenant_a, payment_id=payment.pk, amount=Decimal("11"), request_ref="return:9")


def test_reauthorize_replaces_the_authorization(tenant_a, stripe_a, order_a):
    old = _authorize(tenant_a, order_a)

    new = payment_reauthorize(tenant=tenant_a, payment_id=old.pk)

    assert new.state == PaymentState.AUTHORIZED
    assert new.amount_authorized == old.amount_authorized
    assert new.reauthorized_from_id == old.pk
    assert new.provider_id != old.provider_id
    assert Payment.objects.for_tenant(tenant_a).get(pk=old.pk).state == PaymentState.VOIDED
    assert _intent(stripe_a, old).status == "canceled"


def test_another_tenants_payment_is_not_found(tenant_a, tenant_b, stripe_a, order_a):
    payment = _authorize(tenant_a, order_a)

    with pytest.raises(DomainError) as exc:
        payment_capture(tenant=tenant_b, payment_id=payment.pk)

    assert exc.value.status == 404


def test_stripe_not_configured_is_a_clear_error(db):
    tenant = TenantFactory(slug="no-stripe")
    order = make_order(tenant)

    with pytest.raises(DomainError) as exc:
        _authorize(tenant, order)

    assert exc.value.code == "payment_provider_not_configured"
    assert not Payment.objects.for_tenant(tenant).exists()


def test_an_unreachable_stripe_is_transient_and_keeps_the_operation(tenant_a, order_a):
    from orders.payments import PaymentGatewayUnavailable

    make_stripe_account(tenant_a, "http://127.0.0.1:9")  # nothing listens there

    with pytest.raises(PaymentGatewayUnavailable):
        _authorize(tenant_a, order_a)

    op = PaymentOperation.objects.for_tenant(tenant_a).get()
    assert op.state == OperationState.PENDING
    assert op.locked_until is None  # released: the next retry claims it and resends the same key
    assert op.payment.state == PaymentState.PENDING


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_refunds_of_one_request_refund_once(localstripe_url):
    tenant = TenantFactory(slug="concurrent")
    account = make_stripe_account(tenant, localstripe_url)
    order = make_order(tenant, total="50.00")
    payment = payment_capture(tenant=tenant, payment_id=_authorize(tenant, order).pk)
    barrier = threading.Barrier(10)
    outcomes: list[object] = []
    lock = threading.Lock()

    def refund() -> None:
        try:
            barrier.wait()
            op = payment_refund(
                tenant=tenant, payment_id=payment.pk, amount=Decimal("20.00"), request_ref="return:17"
            )
            result: object = op.pk
        except (ConflictError, PaymentDeclined) as exc:
            result = exc
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=refund) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    op_ids = {o for o in outcomes if isinstance(o, int)}
    assert len(outcomes) == 10
    assert len(op_ids) == 1, outcomes
    refunds = stripe_client(account).v1.refunds.list(params={"payment_intent": payment.provider_id})
    assert [r.amount for r in refunds.data] == [2000]
    payment = Payment.objects.for_tenant(tenant).get(pk=payment.pk)
    assert payment.amount_refunded == Decimal("20.00")
    assert payment.state == PaymentState.PARTIALLY_REFUNDED
    assert PaymentOperation.objects.for_tenant(tenant).filter(kind="refund").count() == 1


def test_per_shipment_charges_a_later_shipment_off_session(tenant_a, stripe_a):
    from orders.models import Customer
    from orders.payments.policies import payment_capture_for_shipment

    tenant_a.split_capture_policy = "per_shipment"
    tenant_a.save(update_fields=["split_capture_policy"])
    client = stripe_client(stripe_a)
    customer = client.v1.customers.create(params={"email": "buyer@example.test"})
    method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    order = make_order(tenant_a, total="100.00")
    Customer.objects.for_tenant(tenant_a).filter(pk=order.customer_id).update(stripe_customer_id=customer.id)
    primary = _authorize(tenant_a, order, pm=method.id)

    for ref, amount in [("shp:1", "60.00"), ("shp:2", "40.00"), ("shp:2", "40.00")]:
        payment_capture_for_shipment(
            tenant=tenant_a, order_id=order.pk, shipment_amount=Decimal(amount), shipment_ref=ref
        )

    payments = list(Payment.objects.for_tenant(tenant_a).filter(order=order).order_by("pk"))
    assert [(p.pk == primary.pk, p.state, p.amount_captured, p.shipment_ref) for p in payments] == [
        (True, PaymentState.CAPTURED, Decimal("60.00"), ""),
        (False, PaymentState.CAPTURED, Decimal("40.00"), "shp:2"),
    ]
    charge = client.v1.payment_intents.retrieve(payments[1].provider_id)
    assert (charge.status, charge.amount, charge.customer) == ("succeeded", 4000, customer.id)


def test_an_edit_after_capture_refunds_the_difference_at_stripe(
    tenant_a, stripe_a, stocked, django_capture_on_commit_callbacks
):
    tenant_a.capture_policy = "on_order"
    tenant_a.save(update_fields=["capture_policy"])
    order = place_order(tenant_a)  # 44.98
    payment = _authorize(tenant_a, order)
    assert payment.state == PaymentState.CAPTURED

    with django_capture_on_commit_callbacks(execute=True):
        order_edit(tenant=tenant_a, order_id=order.pk, lines=lines(1))  # 24.99

    refunds = stripe_client(stripe_a).v1.refunds.list(params={"payment_intent": payment.provider_id})
    assert [r.amount for r in refunds.data] == [1999]
    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert (payment.state, payment.amount_refunded) == (PaymentState.PARTIALLY_REFUNDED, Decimal("19.99"))
