"""The one place fulfillment spells select_for_update. Parents before children, rows in pk order.

Lock order (the house order): the order row, its lines (orders/locks.py), then shipments (pk
order), then shipment lines, then a shipment's labels, then stock rows (inventory/locks.py, one
statement). A service that will move the order locks the order first, even when it starts from a
shipment. Label services lock the shipment, then the label: never a label first.

A service that starts from a shipment reads its order id without a lock, locks the order and
its lines, then the shipment (`shipment_tree_for_update`). The order lock is what serialises the
writers of one order's shipments (release, ship, cancel, short pick); scans lock only
shipments and their lines and never take an order lock after them; a pick list claims pending
shipments with SKIP LOCKED (it never waits).

Rows are locked FOR NO KEY UPDATE, as in orders and inventory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from fulfillment.models import Label, Shipment, ShipmentLine
from fulfillment.states import OPEN
from orders import locks as order_locks
from orders.models import Order, OrderLine


def _for_update(qs: QuerySet[Any]) -> QuerySet[Any]:
    """The one spelling of a row lock in fulfillment."""
    return qs.select_for_update(of=("self",), no_key=True)


def shipment_order_id(*, tenant: Any, shipment_id: Any) -> int:
    """The order a shipment belongs to, read without a lock (it never changes).
    Raises Shipment.DoesNotExist for another tenant's id."""
    return int(Shipment.objects.for_tenant(tenant).values_list("order_id", flat=True).get(pk=shipment_id))


def shipments_for_update(*, tenant: Any, shipment_ids: Iterable[int]) -> list[Shipment]:
    qs = Shipment.objects.for_tenant(tenant).filter(pk__in=sorted(set(shipment_ids)))
    return list(_for_update(qs.order_by("pk")))


def shipment_for_update(*, tenant: Any, shipment_id: Any) -> Shipment:
    """One shipment of `tenant`, locked (Shipment.DoesNotExist for another tenant's id)."""
    return _for_update(Shipment.objects.for_tenant(tenant)).get(pk=shipment_id)


def open_shipments_for_update(*, order: Order) -> list[Shipment]:
    """The order's shipments still in the warehouse, locked in one statement (pk order)."""
    qs = Shipment.objects.for_tenant(order.tenant_id).filter(order=order, state__in=OPEN)
    return list(_for_update(qs.order_by("pk")))


def shipments_claim(qs: QuerySet[Shipment], *, limit: int | None) -> list[Shipment]:
    """Claim shipments for a pick list: the first `limit` rows of `qs` (in its order) that no one
    else holds, locked. SKIP LOCKED: it never waits, so it cannot deadlock whatever its order, and
    two lists made at once take different shipments."""
    qs = qs.select_for_update(of=("self",), no_key=True, skip_locked=True)
    return list(qs[:limit] if limit else qs)


def shipment_lines_for_update(*, tenant: Any, shipment_ids: Iterable[int]) -> list[ShipmentLine]:
    qs = (
        ShipmentLine.objects.for_tenant(tenant)
        .filter(shipment_id__in=sorted(set(shipment_ids)))
        .select_related("sku")
    )
    return list(_for_update(qs.order_by("pk")))


def shipment_lines_by_pk_for_update(*, tenant: Any, line_ids: Iterable[int]) -> list[ShipmentLine]:
    qs = ShipmentLine.objects.for_tenant(tenant).filter(pk__in=sorted(set(line_ids))).select_related("sku")
    return list(_for_update(qs.order_by("pk")))


@dataclass
class ShipmentTree:
    """An order, its lines, one of its shipments and that shipment's lines, all locked."""

    order: Order
    order_lines: list[OrderLine]
    shipment: Shipment
    lines: list[ShipmentLine]


def shipment_tree_for_update(*, tenant: Any, shipment_id: Any) -> ShipmentTree:
    """Lock, in the house order, the shipment's order, the order's lines, the shipment, its lines.
    Raises Shipment.DoesNotExist for another tenant's id."""
    order_id = shipment_order_id(tenant=tenant, shipment_id=shipment_id)
    order = order_locks.order_for_update(tenant=tenant, order_id=order_id)
    order_lines = order_locks.order_lines_for_update(order=order)
    shipment = shipment_for_update(tenant=tenant, shipment_id=shipment_id)
    lines = shipment_lines_for_update(tenant=tenant, shipment_ids=[shipment.pk])
    return ShipmentTree(order, order_lines, shipment, lines)


def label_for_update(*, tenant: Any, label_id: Any) -> Label:
    """One label, locked: take its shipment's lock first (`shipment_for_update`)."""
    return _for_update(Label.objects.for_tenant(tenant)).get(pk=label_id)


def shipment_labels_for_update(*, shipment: Shipment) -> list[Label]:
    """A (locked) shipment's labels, locked, in pk order."""
    labels = Label.objects.for_tenant(shipment.tenant_id).filter(shipment=shipment).order_by("pk")
    return list(_for_update(labels))
