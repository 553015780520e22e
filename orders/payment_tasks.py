"""Celery entry points into the payment services: ids and tenant_id in, one service call.

Only transient provider errors (PaymentGatewayUnavailable) are retried, and "another worker
is talking to the provider for this operation right now" counts as one. The services are
idempotent, so a retry (or a second delivery of the message) changes nothing twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from celery import shared_task

from oms.core.errors import ConflictError
from oms.models import Tenant
from orders import payment_services
from orders.models import Order
from orders.payments import PaymentGatewayUnavailable

F = TypeVar("F", bound=Callable[..., Any])

RETRY = {
    "acks_late": True,
    "autoretry_for": (PaymentGatewayUnavailable,),
    "retry_backoff": True,
    "max_retries": 6,
}


def _in_progress_is_transient(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConflictError as exc:
            if exc.code == payment_services.OPERATION_IN_PROGRESS:
                raise PaymentGatewayUnavailable(exc.message) from exc
            raise

    return wrapper  # type: ignore[return-value]


def _tenant(tenant_id: int) -> Tenant:
    return Tenant.objects.get(pk=tenant_id)


@shared_task(**RETRY)
@_in_progress_is_transient
def payment_authorize_task(
    *, tenant_id: int, order_id: int, provider: str, payment_method: str, amount: str | None = None
) -> int:
    tenant = _tenant(tenant_id)
    order = Order.objects.for_tenant(tenant).get(pk=order_id)
    payment = payment_services.payment_authorize(
        tenant=tenant,
        order=order,
        provider=provider,
        payment_method=payment_method,
        amount=Decimal(amount) if amount is not None else None,
        actor="task",
    )
    return payment.pk


@shared_task(**RETRY)
@_in_progress_is_transient
def payment_capture_for_shipment_task(
    *, tenant_id: int, order_id: int, shipment_amount: str, shipment_ref: str
) -> None:
    payment_services.payment_capture_for_shipment(
        tenant=_tenant(tenant_id),
        order_id=order_id,
        shipment_amount=Decimal(shipment_amount),
        shipment_ref=shipment_ref,
        actor="task",
    )


@shared_task(**RETRY)
@_in_progress_is_transient
def payments_for_order_cancel_task(*, tenant_id: int, order_id: int) -> None:
    payment_services.payments_for_order_cancel(tenant=_tenant(tenant_id), order_id=order_id, actor="task")


@shared_task(**RETRY)
@_in_progress_is_transient
def payment_refund_task(
    *, tenant_id: int, payment_id: int, amount: str, request_ref: str, reason: str = ""
) -> int:
    op = payment_services.payment_refund(
        tenant=_tenant(tenant_id),
        payment_id=payment_id,
        amount=Decimal(amount),
        request_ref=request_ref,
        reason=reason,
        actor="task",
    )
    return op.pk


@shared_task(**RETRY)
@_in_progress_is_transient
def payment_adjust_authorization_task(*, tenant_id: int, order_id: int) -> None:
    payment_services.payment_adjust_authorization(tenant=_tenant(tenant_id), order_id=order_id, actor="task")


@shared_task(**RETRY)
def payments_reauthorize_expiring_task() -> int:
    return payment_services.payments_reauthorize_expiring()
