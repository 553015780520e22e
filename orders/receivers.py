"""Orders listen to inventory: when stock becomes available, waiting orders get it, oldest first."""

from __future__ import annotations

from typing import Any


def on_stock_became_available(sender: Any, *, tenant_id: int, sku_ids: list[int], **_: Any) -> None:
    from orders.tasks import orders_allocate_backorders_task

    orders_allocate_backorders_task.delay(tenant_id=tenant_id, sku_ids=sorted(set(sku_ids)))
