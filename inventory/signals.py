"""Signals inventory sends. Inventory knows no order model; the orders app listens."""

from __future__ import annotations

from collections.abc import Iterable

import django.dispatch

# Sent inside the transaction that may make units available for a SKU: a receipt, a positive
# adjustment or count, a restock, a transfer in, an allocation release, a reservation release
# or expiry. kwargs: tenant_id=int, sku_ids=list[int] (sorted, distinct).
# Receivers only enqueue work (`oms.core.tasks.enqueue_on_commit`): the outbox row commits with
# the stock change, so the work runs after commit and is not lost when the broker is down. A
# receiver that raises rolls the stock change back with it.
stock_became_available = django.dispatch.Signal()


def send_stock_became_available_on_commit(*, tenant_id: int, sku_ids: Iterable[int]) -> None:
    """Tell listeners, in the current transaction, that these SKUs may have units free once it commits."""
    ids = sorted(set(sku_ids))
    if ids:
        stock_became_available.send(sender="inventory", tenant_id=tenant_id, sku_ids=ids)


# Sent inside the transaction that took units out of availability for orders or checkouts (an
# allocation, a reservation): a listener may compare what is left with the reorder point.
# kwargs: tenant_id=int, stock_level_ids=list[int] (sorted, distinct).
stock_taken = django.dispatch.Signal()
