"""Payment services against the in-memory sandbox gateway: policies, idempotency, failure handling."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from oms.core.errors import ConflictError, DomainError
from orders.models import OrderEvent, Payment, PaymentOperation
from orders.payments import (
    GatewayResult,
    PaymentDeclined,
    PaymentGateway,
    PaymentGatewayUnavailable,
    SandboxGateway,
    gateway_for,
    register_gateway,
)
from orders.payments.policies import (
    payment_capture_for_shipment,
    payments_for_order_cancel,
    payments_for_order_edit,
    payments_reauthorize_expiring,
)
from orders.payments.services import payment_authorize, payment_capture, payment_refund
from orders.services import order_cancel, order_edit, order_record_shipment
from orders.states import OperationState, PaymentState
from tests.oms.factories import TenantFactory
from tests.orders.payments.factories import lines, make_order, place_order


def _authorize(tenant, order, pm="pm_card_visa", **kw):
    return payment_authorize(tenant=tenant, order=order, provider="sandbox", payment_method=pm, **kw)


def _set_policy(tenant, capture="on_shipment", split="all_at_first"):
    tenant.capture_policy, tenant.split_capture_policy = capture, split
    tenant.save(update_fields=["capture_policy", "split_capture_policy"])


def test_the_sandbox_is_a_payment_gateway(tenant_a, sandbox):
    assert isinstance(gateway_for(tenant=tenant_a, provider="sandbox"), PaymentGateway)


def test_unknown_provider(tenant_a, order_a):
    with pytest.raises(DomainError) as exc:
        payment_authorize(tenant=tenant_a, order=order_a, provider="nope", payment_method="pm_card_visa")
    assert exc.value.code == "payment_provider_unknown"


@pytest.mark.parametrize("pm", ["pm_card_chargeDeclined", "pm_card_visa_chargeDeclined"])
def test_sandbox_declines_the_declining_test_cards(tenant_a, order_a, sandbox, pm):
    payment = _authorize(tenant_a, order_a, pm=pm)

    assert payment.state == PaymentState.FAILED
    assert payment.failure_code == "card_declined"


def test_on_order_policy_captures_at_authorization(tenant_a, order_a, sandbox):
    _set_policy(tenant_a, capture="on_order")

    payment = _authorize(tenant_a, order_a)

    assert payment.state == PaymentState.CAPTURED
    assert payment.amount_captured == Decimal("100.00")
    payment_capture_for_shipment(
        tenant=tenant_a, order_id=order_a.pk, shipment_amount=Decimal("40"), shipment_ref="shp:1"
    )
    assert [c[0] for c in sandbox.calls] == ["authorize", "capture"]


def test_all_at_first_captures_everything_at_the_first_shipment(tenant_a, order_a, sandbox):
    _set_policy(tenant_a, split="all_at_first")
    payment = _authorize(tenant_a, order_a)

    for ref in ("shp:1", "shp:1", "shp:2"):
        payment_capture_for_shipment(
            tenant=tenant_a, order_id=order_a.pk, shipment_amount=Decimal("40"), shipment_ref=ref
        )

    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert payment.amount_captured == Decimal("100.00")
    assert Payment.objects.for_tenant(tenant_a).filter(order=order_a).count() == 1
    assert [c[0] for c in sandbox.calls] == ["authorize", "capture"]


def test_per_shipment_captures_the_first_and_charges_later_shipments(tenant_a, order_a, sandbox):
    _set_policy(tenant_a, split="per_shipment")
    primary = _authorize(tenant_a, order_a)

    for ref, amount in [("shp:1", "40"), ("shp:1", "40"), ("shp:2", "35"), ("shp:2", "35"), ("shp:3", "50")]:
        payment_capture_for_shipment(
            tenant=tenant_a, order_id=order_a.pk, shipment_amount=Decimal(amount), shipment_ref=ref
        )

    primary = Payment.objects.for_tenant(tenant_a).get(pk=primary.pk)
    assert primary.amount_captured == Decimal("40.00")
    charges = list(
        Payment.objects.for_tenant(tenant_a).filter(order=order_a).exclude(pk=primary.pk).order_by("pk")
    )
    assert [(c.shipment_ref, c.amount_captured, c.state) for c in charges] == [
        ("shp:2", Decimal("35.00"), PaymentState.CAPTURED),
        ("shp:3", Decimal("25.00"), PaymentState.CAPTURED),  # never more than the order total
    ]
    assert [c[0] for c in sandbox.calls] == [
        "authorize",
        "capture",
        "charge_off_session",
        "charge_off_session",
    ]


def test_cancel_voids_authorizations_and_refunds_captures(tenant_a, sandbox):
    authorized_order = make_order(tenant_a, total="30.00")
    captured_order = make_order(tenant_a, total="70.00")
    held = _authorize(tenant_a, authorized_order)
    taken = payment_capture(tenant=tenant_a, payment_id=_authorize(tenant_a, captured_order).pk)
    payment_refund(tenant=tenant_a, payment_id=taken.pk, amount=Decimal("20"), request_ref="return:1")
    for order in (authorized_order, captured_order):
        order_cancel(tenant=tenant_a, order_id=order.pk, reason="changed my mind")

    for _ in range(2):  # re-runnable
        payments_for_order_cancel(tenant=tenant_a, order_id=authorized_order.pk)
        payments_for_order_cancel(tenant=tenant_a, order_id=captured_order.pk)

    assert Payment.objects.for_tenant(tenant_a).get(pk=held.pk).state == PaymentState.VOIDED
    taken = Payment.objects.for_tenant(tenant_a).get(pk=taken.pk)
    assert taken.state == PaymentState.REFUNDED
    assert taken.amount_refunded == Decimal("70.00")
    assert [c[0] for c in sandbox.calls].count("refund") == 2


def test_reauthorize_sweep_renews_expiring_authorizations(tenant_a, tenant_b, sandbox):
    soon = _authorize(tenant_a, make_order(tenant_a))
    later = _authorize(tenant_b, make_order(tenant_b))
    Payment.objects.for_tenant(tenant_a).filter(pk=soon.pk).update(
        authorization_expires_at=timezone.now() + timedelta(hours=2)
    )

    assert payments_reauthorize_expiring() == 1
    assert payments_reauthorize_expiring() == 0

    assert Payment.objects.for_tenant(tenant_a).get(pk=soon.pk).state == PaymentState.VOIDED
    renewed = Payment.objects.for_tenant(tenant_a).get(reauthorized_from=soon)
    assert renewed.state == PaymentState.AUTHORIZED
    assert renewed.authorization_expires_at > timezone.now() + timedelta(days=6)
    assert Payment.objects.for_tenant(tenant_b).get(pk=later.pk).state == PaymentState.AUTHORIZED


def test_services_refuse_to_run_inside_a_callers_transaction(tenant_a, order_a, sandbox):
    with pytest.raises(RuntimeError, match=r"outside transaction\.atomic"), transaction.atomic():
        _authorize(tenant_a, order_a)


class FlakyGateway(SandboxGateway):
    """Refunds: the first `fail_times` calls time out after the provider did the work."""

    provider = "flaky"

    def __init__(self, fail_times: int) -> None:
        super().__init__()
        self.fail_times = fail_times

    def refund(self, **kwargs):
        result = super().refund(**kwargs)
        if self.fail_times > 0:
            self.fail_times -= 1
            raise PaymentGatewayUnavailable("read timeout")
        return result


def test_a_transient_error_keeps_the_reservation_and_the_retry_resends_the_same_key(tenant_a, order_a):
    flaky = FlakyGateway(fail_times=1)
    register_gateway("flaky", lambda tenant: flaky)
    payment = payment_authorize(
        tenant=tenant_a, order=order_a, provider="flaky", payment_method="pm_card_visa"
    )
    payment = payment_capture(tenant=tenant_a, payment_id=payment.pk)

    with pytest.raises(PaymentGatewayUnavailable):
        payment_refund(tenant=tenant_a, payment_id=payment.pk, amount=Decimal("25"), request_ref="return:3")

    # The outcome is unknown: the amount stays reserved, no second refund can overdraw it.
    assert Payment.objects.for_tenant(tenant_a).get(pk=payment.pk).amount_refunded == Decimal("25.00")
    op = payment_refund(tenant=tenant_a, payment_id=payment.pk, amount=Decimal("25"), request_ref="return:3")

    assert op.state == OperationState.SUCCEEDED
    assert op.attempts == 2
    refund_keys = [key for method, key in flaky.calls if method == "refund"]
    assert refund_keys == [op.idempotency_key, op.idempotency_key]
    assert len(flaky.refunds) == 1  # the provider deduplicated on the key
    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert (payment.amount_refunded, payment.state) == (Decimal("25.00"), PaymentState.PARTIALLY_REFUNDED)


class RefusingGateway(SandboxGateway):
    provider = "refusing"

    def refund(self, **kwargs):
        self.calls.append(("refund", kwargs["idempotency_key"]))
        raise PaymentDeclined("Charge already disputed.", failure_code="charge_disputed", status=422)


def test_a_refused_refund_gives_the_reservation_back(tenant_a, order_a):
    refusing = RefusingGateway()
    register_gateway("refusing", lambda tenant: refusing)
    payment = payment_authorize(
        tenant=tenant_a, order=order_a, provider="refusing", payment_method="pm_card_visa"
    )
    payment = payment_capture(tenant=tenant_a, payment_id=payment.pk)

    for _ in range(2):
        with pytest.raises(PaymentDeclined) as exc:
            payment_refund(
                tenant=tenant_a, payment_id=payment.pk, amount=Decimal("25"), request_ref="return:4"
            )
        assert exc.value.failure_code == "charge_disputed"

    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert (payment.amount_refunded, payment.state) == (Decimal("0.00"), PaymentState.CAPTURED)
    assert len(refusing.calls) - 2 == 1  # authorize + capture + one refund: the stored refusal is replayed
    assert (
        OrderEvent.objects.for_tenant(tenant_a).filter(order=order_a, message__contains="refused").count()
        == 1
    )


class SlowGateway(SandboxGateway):
    provider = "slow"

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def capture(self, **kwargs):
        self.entered.set()
        self.release.wait(10)
        return super().capture(**kwargs)


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_caller_waits_for_the_owner_and_never_calls_the_provider(settings):
    settings.PAYMENT_OPERATION_WAIT_SECONDS = 0.3
    tenant = TenantFactory(slug="waiting")
    slow = SlowGateway()
    register_gateway("slow", lambda t: slow)
    payment = payment_authorize(
        tenant=tenant, order=make_order(tenant), provider="slow", payment_method="pm_card_visa"
    )
    results: list[object] = []

    def owner() -> None:
        try:
            results.append(payment_capture(tenant=tenant, payment_id=payment.pk).state)
        finally:
            connection.close()

    thread = threading.Thread(target=owner)
    thread.start()
    assert slow.entered.wait(10)
    try:
        with pytest.raises(ConflictError) as exc:
            payment_capture(tenant=tenant, payment_id=payment.pk)
        assert exc.value.code == "payment_operation_in_progress"
    finally:
        slow.release.set()
        thread.join(10)

    assert results == [PaymentState.CAPTURED]
    assert [c[0] for c in slow.calls] == ["authorize", "capture"]
    assert payment_capture(tenant=tenant, payment_id=payment.pk).state == PaymentState.CAPTURED
    assert PaymentOperation.objects.for_tenant(tenant).get(kind="capture").attempts == 1


def test_gateway_result_defaults():
    result = GatewayResult(provider_id="x", status="authorized", amount=Decimal("1"))
    assert result.failure_code == "" and result.raw == {}


def test_an_edit_to_a_larger_total_gets_a_new_authorization(
    tenant_a, stocked, sandbox, django_capture_on_commit_callbacks
):
    order = place_order(tenant_a)  # 44.98
    old = _authorize(tenant_a, order)

    with django_capture_on_commit_callbacks(execute=True):
        order_edit(tenant=tenant_a, order_id=order.pk, lines=lines(3))  # 64.97
    payments_for_order_edit(tenant=tenant_a, order_id=order.pk)  # a redelivery changes nothing

    new = Payment.objects.for_tenant(tenant_a).get(reauthorized_from=old)
    assert (new.state, new.amount_authorized) == (PaymentState.AUTHORIZED, Decimal("64.97"))
    assert Payment.objects.for_tenant(tenant_a).get(pk=old.pk).state == PaymentState.VOIDED
    assert Payment.objects.for_tenant(tenant_a).filter(order=order).count() == 2
    assert [c[0] for c in sandbox.calls] == ["authorize", "authorize", "void"]


def test_an_edit_to_a_smaller_total_is_captured_as_the_smaller_amount(
    tenant_a, stocked, sandbox, django_capture_on_commit_callbacks
):
    order = place_order(tenant_a)  # 44.98
    payment = _authorize(tenant_a, order)

    with django_capture_on_commit_callbacks(execute=True):
        order_edit(tenant=tenant_a, order_id=order.pk, lines=lines(1))  # 24.99
    with django_capture_on_commit_callbacks(execute=True):
        order_record_shipment(tenant=tenant_a, order_id=order.pk, reference="SHP-1")

    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert (payment.state, payment.amount_authorized, payment.amount_captured) == (
        PaymentState.CAPTURED,
        Decimal("44.98"),
        Decimal("24.99"),
    )
    assert [c[0] for c in sandbox.calls] == ["authorize", "capture"]
