"""Orders listen to inventory: when stock becomes available, waiting orders get it, oldest first."""

from __future__ import annotations

from typing import Any

from oms.core.tasks import enqueue_on_commit


def on_stock_became_available(sender: Any, *, tenant_id: int, sku_ids: list[int], **_: Any) -> None:
    """Runs inside the stock change's transaction: the backorder sweep is an outbox row committed with it."""
    enqueue_on_commit(
        "orders.tasks.orders_allocate_backorders_task", tenant_id=tenant_id, sku_ids=sorted(set(sku_ids))
    )
