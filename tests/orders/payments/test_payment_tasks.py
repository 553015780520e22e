"""The payment tasks are thin: ids in, one service call; only transient errors are retried."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings

from orders.models import Payment
from orders.payments import PaymentGatewayUnavailable
from orders.services import order_cancel
from orders.states import PaymentState
from orders.tasks import (
    payment_authorize_task,
    payment_capture_for_shipment_task,
    payment_refund_task,
    payments_for_order_cancel_task,
    payments_for_order_edit_task,
    payments_reauthorize_expiring_task,
    payments_release_cancelled_task,
)


def test_tasks_retry_only_transient_provider_errors():
    for task in (
        payments_for_order_edit_task,
        payments_release_cancelled_task,
        payment_authorize_task,
        payment_capture_for_shipment_task,
        payments_for_order_cancel_task,
        payment_refund_task,
        payments_reauthorize_expiring_task,
    ):
        assert task.autoretry_for == (PaymentGatewayUnavailable,)
        assert task.max_retries == 6
        assert task.acks_late is True


def test_the_payment_sweeps_are_scheduled_under_their_task_names():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["payments-reauthorize-expiring"]["task"] == payments_reauthorize_expiring_task.name
    assert schedule["payments-release-cancelled"]["task"] == payments_release_cancelled_task.name


def test_a_payment_lifecycle_through_the_tasks(tenant_a, order_a, sandbox):
    payment_id = payment_authorize_task.delay(
        tenant_id=tenant_a.pk, order_id=order_a.pk, provider="sandbox", payment_method="pm_card_visa"
    ).get()
    payment_capture_for_shipment_task.delay(
        tenant_id=tenant_a.pk, order_id=order_a.pk, shipment_amount="100.00", shipment_ref="shp:1"
    )
    payment_refund_task.delay(tenant_id=tenant_a.pk, payment_id=payment_id, amount="10.00", request_ref="r:1")
    order_cancel(tenant=tenant_a, order_id=order_a.pk, reason="returned to sender")
    payments_for_order_cancel_task.delay(tenant_id=tenant_a.pk, order_id=order_a.pk)

    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment_id)
    assert (payment.state, payment.amount_refunded) == (PaymentState.REFUNDED, Decimal("100.00"))
    assert payments_reauthorize_expiring_task.delay().get() == 0


def test_an_operation_in_progress_elsewhere_is_retried_later(tenant_a, monkeypatch):
    from oms.core.errors import ConflictError
    from orders.payments.operations import OPERATION_IN_PROGRESS
    from orders.tasks import _in_progress_is_transient

    def busy(**kwargs):
        raise ConflictError(OPERATION_IN_PROGRESS, "busy")

    def refused(**kwargs):
        raise ConflictError("payment_not_capturable", "no")

    with pytest.raises(PaymentGatewayUnavailable):
        _in_progress_is_transient(busy)()
    with pytest.raises(ConflictError):
        _in_progress_is_transient(refused)()
    assert payment_refund_task.name == "orders.tasks.payment_refund_task"
