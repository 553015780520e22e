"""The one place orders spell select_for_update. Parents before children, rows in pk order.

Lock order: the order row, then its lines (pk order), then the stock rows (inventory/locks.py,
one statement); for money: the order row, then its payments (pk order), then a payment's
operation. A placement's order number locks nothing on PostgreSQL (a sequence,
orders/numbers.py).

Rows are locked FOR NO KEY UPDATE: writers of a row queue on it as with FOR UPDATE, but rows
inserted beside it (events, allocations, payments) do not wait for their foreign-key checks.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from orders.models import Order, OrderLine, Payment, PaymentOperation


def _for_update(qs: QuerySet[Any]) -> QuerySet[Any]:
    """The one spelling of a row lock in orders."""
    return qs.select_for_update(of=("self",), no_key=True)


def order_for_update(*, tenant: Any, order_id: Any) -> Order:
    return _for_update(Order.objects.for_tenant(tenant)).get(pk=order_id)


def order_lines_for_update(*, order: Order) -> list[OrderLine]:
    lines = OrderLine.objects.for_tenant(order.tenant_id).filter(order=order).select_related("sku")
    return list(_for_update(lines.order_by("pk")))


def orders_with_lines_for_update(*, tenant: Any, order_ids: list[int]) -> list[tuple[Order, list[OrderLine]]]:
    """Several orders, then all their lines: two statements, each in pk order (parents before children)."""
    orders = list(_for_update(Order.objects.for_tenant(tenant).filter(pk__in=order_ids).order_by("pk")))
    lines_of: dict[int, list[OrderLine]] = {order.pk: [] for order in orders}
    lines = OrderLine.objects.for_tenant(tenant).filter(order_id__in=list(lines_of)).select_related("sku")
    for line in _for_update(lines.order_by("pk")):
        lines_of[line.order_id].append(line)
    return [(order, lines_of[order.pk]) for order in orders]


def payment_for_update(*, tenant: Any, payment_id: Any) -> Payment:
    return _for_update(Payment.objects.for_tenant(tenant)).get(pk=payment_id)


def payments_for_update(*, order: Order) -> list[Payment]:
    return list(_for_update(Payment.objects.for_tenant(order.tenant_id).filter(order=order).order_by("pk")))


def payment_operation_for_update(*, tenant: Any, operation_id: Any) -> PaymentOperation:
    return _for_update(PaymentOperation.objects.for_tenant(tenant)).get(pk=operation_id)
