"""The one place orders spell select_for_update.

Lock order: the order row, then its lines (pk order), then stock; for money: the order row,
then its payments (pk order), then a payment's operation.
"""

from __future__ import annotations

from typing import Any

from orders.models import Order, OrderLine, Payment, PaymentOperation


def order_for_update(*, tenant: Any, order_id: Any) -> Order:
    return Order.objects.for_tenant(tenant).select_for_update(of=("self",)).get(pk=order_id)


def order_lines_for_update(*, order: Order) -> list[OrderLine]:
    return list(
        OrderLine.objects.for_tenant(order.tenant_id).filter(order=order).select_for_update().order_by("pk")
    )


def payment_for_update(*, tenant: Any, payment_id: Any) -> Payment:
    return Payment.objects.for_tenant(tenant).select_for_update(of=("self",)).get(pk=payment_id)


def payments_for_update(*, order: Order) -> list[Payment]:
    return list(
        Payment.objects.for_tenant(order.tenant_id)
        .filter(order=order)
        .select_for_update(of=("self",))
        .order_by("pk")
    )


def payment_operation_for_update(*, tenant: Any, operation_id: Any) -> PaymentOperation:
    return PaymentOperation.objects.for_tenant(tenant).select_for_update(of=("self",)).get(pk=operation_id)
