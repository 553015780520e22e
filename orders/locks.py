"""The one place orders spell select_for_update. Parents before children, rows in pk order.

Lock order: the order row, then its lines (by pk), then the stock rows (inventory/locks.py,
one statement). The tenant's order-number counter is taken alone, in a short transaction of
its own, before an order is placed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from orders.models import Order, OrderLine, OrderNumber


def _for_update(qs: QuerySet[Any]) -> QuerySet[Any]:
    """The one spelling of a row lock in orders."""
    return qs.select_for_update(of=("self",), no_key=True)


def order_for_update(*, tenant: Any, order_id: Any) -> Order:
    return _for_update(Order.objects.for_tenant(tenant)).get(pk=order_id)


def order_lines_for_update(*, order: Order) -> list[OrderLine]:
    return list(_for_update(OrderLine.objects.for_tenant(order.tenant_id).filter(order=order).order_by("pk")))


def order_number_for_update(*, tenant: Any) -> OrderNumber | None:
    """The tenant's order-number counter, locked; None before its first order."""
    return _for_update(OrderNumber.objects.for_tenant(tenant)).first()
