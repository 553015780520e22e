"""Returns listen to fulfillment: a return label bought, a return parcel tracked.

Fulfillment sends these inside its own transactions, holding shipment and label locks; a
return's order comes before those in the house lock order, so the receivers only enqueue the
work (an outbox row committed with fulfillment's change) and the tasks take the locks in order.
"""

from __future__ import annotations

from typing import Any

from oms.core.tasks import enqueue_on_commit


def on_return_label_purchased(sender: Any, *, tenant_id: int, label_id: int, **_: Any) -> None:
    enqueue_on_commit("returns.tasks.return_label_sent_task", tenant_id=tenant_id, label_id=label_id)


def on_return_parcel_tracked(
    sender: Any, *, tenant_id: int, label_id: int, status: str, details: str = "", source: str = "", **_: Any
) -> None:
    enqueue_on_commit(
        "returns.tasks.return_tracking_update_task",
        tenant_id=tenant_id,
        label_id=label_id,
        status=status,
        details=details,
        source=source,
    )
