"""Editing an order reconciles its money: a smaller total refunds, a larger one is authorized or charged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Hold, Order, Payment
from orders.payments import PaymentDeclined, register_gateway
from orders.payments.services import payment_authorize
from orders.services import order_edit
from orders.states import PaymentPurpose, PaymentState
from orders.tasks import payments_for_order_edit_task
from tests.orders.payments.factories import lines, place_order
from tests.orders.payments.gateways import NoOffSessionGateway, RefusingRefundGateway


def _captured_at_order_time(tenant, order, provider="sandbox"):
    tenant.capture_policy = "on_order"
    tenant.save(update_fields=["capture_policy"])
    return payment_authorize(tenant=tenant, order=order, provider=provider, payment_method="pm_card_visa")


def _methods(gateway):
    return [method for method, _ in gateway.calls]


def test_a_captured_order_edited_to_a_smaller_total_refunds_the_difference(
    tenant_a, stocked, sandbox, django_capture_on_commit_callbacks
):
    order = place_order(tenant_a)  # 2 x 19.99 + 5.00 = 44.98
    payment = _captured_at_order_time(tenant_a, order)
    assert payment.amount_captured == Decimal("44.98")

    with django_capture_on_commit_callbacks(execute=True):
        order = order_edit(tenant=tenant_a, order_id=order.pk, lines=lines(1))
    payments_for_order_edit_task(
        tenant_id=tenant_a.pk, order_id=order.pk
    )  # a redelivery refunds nothing more

    assert order.total == Decimal("24.99")
    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert (payment.state, payment.amount_captured, payment.amount_refunded) == (
        PaymentState.PARTIALLY_REFUNDED,
        Decimal("44.98"),
        Decimal("19.99"),
    )
    assert _methods(sandbox) == ["authorize", "capture", "refund"]


def test_two_edits_down_refund_exactly_what_was_taken_beyond_the_last_total(
    tenant_a, stocked, sandbox, django_capture_on_commit_callbacks
):
    order = place_order(tenant_a, quantity=3)  # 64.97
    payment = _captured_at_order_time(tenant_a, order)

    order_edit(tenant=tenant_a, order_id=order.pk, lines=lines(2))  # 44.98; its task runs late
    with django_capture_on_commit_callbacks(execute=True):
        order_edit(tenant=tenant_a, order_id=order.pk, lines=lines(1))  # 24.99
    payments_for_order_edit_task(tenant_id=tenant_a.pk, order_id=order.pk)  # the first edit's task

    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert payment.amount_captured - payment.amount_refunded == Decimal("24.99")
    assert _methods(sandbox).count("refund") == 1


def test_a_captured_order_edited_to_a_larger_total_is_charged_the_difference_off_session(
    tenant_a, stocked, sandbox, django_capture_on_commit_callbacks
):
    order = place_order(tenant_a)  # 44.98
    first = _captured_at_order_time(tenant_a, order)

    with django_capture_on_commit_callbacks(execute=True):
        order_edit(tenant=tenant_a, order_id=order.pk, lines=lines(3))  # 64.97
    payments_for_order_edit_task(tenant_id=tenant_a.pk, order_id=order.pk)

    payments = list(Payment.objects.for_tenant(tenant_a).filter(order=order).order_by("pk"))
    assert [(p.pk == first.pk, p.purpose, p.state, p.amount_captured) for p in payments] == [
        (True, PaymentPurpose.ORDER, PaymentState.CAPTURED, Decimal("44.98")),
        (False, PaymentPurpose.EDIT, PaymentState.CAPTURED, Decimal("19.99")),
    ]
    assert _methods(sandbox) == ["authorize", "capture", "charge_off_session"]


def test_a_refused_charge_for_a_larger_total_puts_the_order_on_a_payment_due_hold(
    tenant_a, stocked, django_capture_on_commit_callbacks
):
    gateway = NoOffSessionGateway()
    register_gateway("no-off-session", lambda tenant: gateway)
    order = place_order(tenant_a)
    _captured_at_order_time(tenant_a, order, provider="no-off-session")

    with django_capture_on_commit_callbacks(execute=True):
        order_edit(tenant=tenant_a, order_id=order.pk, lines=lines(3))

    order = Order.objects.for_tenant(tenant_a).get(pk=order.pk)
    assert order.state == "on_hold"
    assert list(Hold.objects.for_tenant(tenant_a).filter(order=order).values_list("kind", flat=True)) == [
        "payment_due"
    ]
    charge = Payment.objects.for_tenant(tenant_a).get(order=order, purpose=PaymentPurpose.EDIT)
    assert (charge.state, charge.failure_code) == (PaymentState.FAILED, "authentication_required")


def test_an_uncaptured_order_edited_to_a_larger_total_is_authorized_again(
    tenant_a, stocked, sandbox, django_capture_on_commit_callbacks
):
    order = place_order(tenant_a)
    old = payment_authorize(tenant=tenant_a, order=order, provider="sandbox", payment_method="pm_card_visa")

    with django_capture_on_commit_callbacks(execute=True):
        order_edit(tenant=tenant_a, order_id=order.pk, lines=lines(3))

    new = Payment.objects.for_tenant(tenant_a).get(reauthorized_from=old)
    assert (new.state, new.amount_authorized) == (PaymentState.AUTHORIZED, Decimal("64.97"))
    assert Payment.objects.for_tenant(tenant_a).get(pk=old.pk).state == PaymentState.VOIDED


def test_tax_is_recomputed_when_the_lines_change(tenant_a, stocked):
    order = place_order(tenant_a, tax="4.00")  # 39.98 + 5.00 + 4.00 = 48.98
    assert order.total == Decimal("48.98")

    order = order_edit(tenant=tenant_a, order_id=order.pk, lines=lines(1))

    assert (order.subtotal, order.tax, order.total) == (Decimal("19.99"), Decimal("2.00"), Decimal("26.99"))


def test_line_taxes_given_with_the_new_lines_are_the_new_tax(tenant_a, stocked):
    from orders.services import LineInput

    order = place_order(tenant_a, tax="4.00")

    order = order_edit(
        tenant=tenant_a,
        order_id=order.pk,
        lines=[LineInput(sku="SKU-123", quantity=1, unit_price=Decimal("19.99"), tax=Decimal("1.50"))],
    )

    assert (order.tax, order.total) == (Decimal("1.50"), Decimal("26.49"))


def test_a_refused_refund_for_a_smaller_total_is_refused_again_on_a_rerun_not_an_error(
    tenant_a, stocked, django_capture_on_commit_callbacks
):
    gateway = RefusingRefundGateway()
    register_gateway("refusing-refunds", lambda tenant: gateway)
    order = place_order(tenant_a)
    payment = _captured_at_order_time(tenant_a, order, provider="refusing-refunds")

    with pytest.raises(PaymentDeclined), django_capture_on_commit_callbacks(execute=True):
        order_edit(tenant=tenant_a, order_id=order.pk, lines=lines(1))
    # A redelivery of the same edit's task: the stored refusal again, not a second refund row.
    with pytest.raises(PaymentDeclined):
        payments_for_order_edit_task(tenant_id=tenant_a.pk, order_id=order.pk)

    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert (payment.amount_captured, payment.amount_refunded) == (Decimal("44.98"), Decimal("0.00"))
    assert [method for method, _ in gateway.calls].count("refund") == 1
