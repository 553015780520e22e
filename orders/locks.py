"""The one place orders spell select_for_update. Lock parents before children, rows in pk order."""

from __future__ import annotations

from typing import Any

from orders.models import Order, OrderLine


def order_for_update(*, tenant: Any, order_id: Any) -> Order:
    return Order.objects.for_tenant(tenant).select_for_update(of=("self",)).get(pk=order_id)


def order_lines_for_update(*, order: Order) -> list[OrderLine]:
    return list(
        OrderLine.objects.for_tenant(order.tenant_id).filter(order=order).select_for_update().order_by("pk")
    )
