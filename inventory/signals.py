"""Signals inventory sends. Inventory knows no order model; the orders app listens."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import django.dispatch
from django.db import transaction

logger = logging.getLogger(__name__)

# Sent after commit when units may have become available for a SKU: a receipt, a positive
# adjustment or count, a restock, a transfer in, an allocation release, a reservation release
# or expiry. kwargs: tenant_id=int, sku_ids=list[int] (sorted, distinct).
stock_became_available = django.dispatch.Signal()


def send_stock_became_available_on_commit(*, tenant_id: int, sku_ids: Iterable[int]) -> None:
    ids = sorted(set(sku_ids))
    if not ids:
        return

    def send() -> None:
        for receiver, result in stock_became_available.send_robust(
            sender="inventory", tenant_id=tenant_id, sku_ids=ids
        ):
            if isinstance(result, Exception):
                logger.error("stock_became_available receiver %r failed", receiver, exc_info=result)

    transaction.on_commit(send)
