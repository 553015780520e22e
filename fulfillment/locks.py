"""The one place fulfillment spells select_for_update. Parents before children, rows in pk order.

Lock order (the house order): the order row, its lines (orders/locks.py), then shipments (pk
order), then shipment lines, then a shipment's labels, then stock rows (inventory/locks.py, one
statement). A service that will move the order locks the order first, even when it starts from a
shipment. Label services lock the shipment, then the label: never a label first.

Rows are locked FOR NO KEY UPDATE, as in orders: writers queue, inserts beside them do not.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from fulfillment.models import Label, Shipment


def _for_update(qs: QuerySet[Any]) -> QuerySet[Any]:
    """The one spelling of a row lock in fulfillment."""
    return qs.select_for_update(of=("self",), no_key=True)


def shipment_for_update(*, tenant: Any, shipment_id: Any) -> Shipment:
    """One shipment of `tenant`, locked (Shipment.DoesNotExist for another tenant's id)."""
    return _for_update(Shipment.objects.for_tenant(tenant)).get(pk=shipment_id)


def label_for_update(*, tenant: Any, label_id: Any) -> Label:
    """One label, locked: take its shipment's lock first (`shipment_for_update`)."""
    return _for_update(Label.objects.for_tenant(tenant)).get(pk=label_id)


def shipment_labels_for_update(*, shipment: Shipment) -> list[Label]:
    """A (locked) shipment's labels, locked, in pk order."""
    labels = Label.objects.for_tenant(shipment.tenant_id).filter(shipment=shipment).order_by("pk")
    return list(_for_update(labels))
