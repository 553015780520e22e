"""What follows a shipment leaving the warehouse or reaching the customer, written to the outbox in
the transaction that moved it: the customer's email, the tracking push to the order's channel, and
asking the carrier platform to follow a parcel it did not label.

The services that move shipments (ship, tracking) call these; they never call a vendor. Each
task is idempotent on the shipment and the kind (fulfillment/notifications.py records what
was told), so a second call, or a second delivery of the task, tells no one twice.
"""

from __future__ import annotations

from typing import Any

from fulfillment.states import NotificationKind
from oms.core.tasks import enqueue_on_commit


def shipment_shipped(shipment: Any, *, actor: Any = None) -> None:
    """A shipment left the warehouse (a label we bought, or a 3PL's tracking)."""
    ids = {"tenant_id": shipment.tenant_id, "shipment_id": shipment.pk}
    kind = NotificationKind.SHIPPED_EMAIL.value
    enqueue_on_commit("fulfillment.tasks.shipment_email_send_task", **ids, kind=kind)
    enqueue_on_commit("fulfillment.tasks.shipment_tracking_push_task", **ids)
    enqueue_on_commit("fulfillment.tasks.shipment_tracking_register_task", **ids)


def shipment_delivered(shipment: Any, *, actor: Any = None) -> None:
    """The carrier says the shipment reached the customer."""
    enqueue_on_commit(
        "fulfillment.tasks.shipment_email_send_task",
        tenant_id=shipment.tenant_id,
        shipment_id=shipment.pk,
        kind=NotificationKind.DELIVERED_EMAIL.value,
    )
