"""Thin Celery entry points into order services: ids and tenant_id in, one service call.

Payment tasks retry only transient provider errors (PaymentGatewayUnavailable), and "another
worker is talking to the provider for this operation right now" counts as one. The payment
services are idempotent, so a retry (or a second delivery of the message) changes nothing twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from celery import shared_task

from oms.core.errors import ConflictError
from oms.models import Tenant
from orders import backorders, services
from orders.models import Order
from orders.payments import policies
from orders.payments import services as payments
from orders.payments.gateway import PaymentGatewayUnavailable
from orders.payments.operations import OPERATION_IN_PROGRESS

F = TypeVar("F", bound=Callable[..., Any])

PAYMENT_RETRY = {
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
            if exc.code == OPERATION_IN_PROGRESS:
                raise PaymentGatewayUnavailable(exc.message) from exc
            raise

    return wrapper  # type: ignore[return-value]


def _tenant(tenant_id: int) -> Tenant:
    return Tenant.objects.get(pk=tenant_id)


# --- orders -------------------------------------------------------------------------------------
@shared_task(acks_late=True)
def order_allocate_task(*, tenant_id: int, order_id: int) -> None:
    services.order_allocate(tenant=_tenant(tenant_id), order_id=order_id, actor="task")


@shared_task(acks_late=True)
def orders_allocate_backorders_task(*, tenant_id: int, sku_ids: list[int] | None = None) -> int:
    """A stock change's backorder sweep: every SKU the tenant is owed one for (orders/backorders.py).

    `sku_ids`: a message enqueued before sweeps were coalesced names its SKUs; they are swept too.
    """
    return backorders.backorders_allocate_owed(tenant_id=tenant_id, sku_ids=sku_ids or ())


@shared_task(acks_late=True)
def orders_backorders_sweep_task() -> int:
    """Periodic safety net (CELERY_BEAT_SCHEDULE): backorders with free stock get it, every tenant."""
    return services.orders_backorders_sweep()


# --- payments -----------------------------------------------------------------------------------
@shared_task(**PAYMENT_RETRY)
@_in_progress_is_transient
def payment_authorize_task(
    *, tenant_id: int, order_id: int, provider: str = "", payment_method: str, amount: str | None = None
) -> int:
    tenant = _tenant(tenant_id)
    order = Order.objects.for_tenant(tenant).get(pk=order_id)
    payment = payments.payment_authorize(
        tenant=tenant,
        order=order,
        provider=provider,
        payment_method=payment_method,
        amount=Decimal(amount) if amount is not None else None,
        actor="task",
    )
    return payment.pk


@shared_task(**PAYMENT_RETRY)
@_in_progress_is_transient
def payment_refund_task(
    *, tenant_id: int, payment_id: int, amount: str, request_ref: str, reason: str = ""
) -> int:
    op = payments.payment_refund(
        tenant=_tenant(tenant_id),
        payment_id=payment_id,
        amount=Decimal(amount),
        request_ref=request_ref,
        reason=reason,
        actor="task",
    )
    return op.pk


@shared_task(**PAYMENT_RETRY)
@_in_progress_is_transient
def payment_capture_for_shipment_task(
    *, tenant_id: int, order_id: int, shipment_amount: str, shipment_ref: str
) -> None:
    policies.payment_capture_for_shipment(
        tenant=_tenant(tenant_id),
        order_id=order_id,
        shipment_amount=Decimal(shipment_amount),
        shipment_ref=shipment_ref,
        actor="task",
    )


@shared_task(**PAYMENT_RETRY)
@_in_progress_is_transient
def payments_for_order_cancel_task(*, tenant_id: int, order_id: int) -> None:
    policies.payments_for_order_cancel(tenant=_tenant(tenant_id), order_id=order_id, actor="task")


@shared_task(**PAYMENT_RETRY)
@_in_progress_is_transient
def payments_for_order_edit_task(*, tenant_id: int, order_id: int) -> None:
    policies.payments_for_order_edit(tenant=_tenant(tenant_id), order_id=order_id, actor="task")


@shared_task(**PAYMENT_RETRY)
def payments_reauthorize_expiring_task() -> int:
    return policies.payments_reauthorize_expiring()


@shared_task(**PAYMENT_RETRY)
def payments_release_cancelled_task() -> int:
    return policies.payments_release_cancelled()
