"""Orders listen to inventory: when stock becomes available, waiting orders get it, oldest first."""

from __future__ import annotations

from typing import Any

from orders.backorders import backorder_sweep_request


def on_stock_became_available(sender: Any, *, tenant_id: int, sku_ids: list[int], **_: Any) -> None:
    """Runs inside the stock change's transaction: the sweep owed commits with it (orders/backorders.py)."""
    backorder_sweep_request(tenant_id=tenant_id, sku_ids=sku_ids)
