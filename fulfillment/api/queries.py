"""The reads the Shipments API renders: one shipment with what its JSON shows, in a fixed number
of queries whatever the page size."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from fulfillment.models import Label, Parcel, Shipment, ShipmentLine
from fulfillment.shipping import shipment_reference
from fulfillment.states import ShipmentState
from orders.selectors import order_shipments


def shipment_api_queryset(tenant: Any) -> QuerySet[Shipment]:
    return (
        Shipment.objects.for_tenant(tenant)
        .select_related("warehouse")
        .prefetch_related(
            Prefetch(
                "lines", queryset=ShipmentLine.objects.for_tenant(tenant).select_related("sku").order_by("pk")
            ),
            Prefetch("parcels", queryset=Parcel.objects.for_tenant(tenant).order_by("pk")),
            Prefetch(
                "labels",
                queryset=Label.objects.for_tenant(tenant).only("pk", "shipment_id", "state", "is_return"),
            ),
        )
    )


def shipment_api_get(*, tenant: Any, shipment_id: Any) -> Shipment:
    return shipment_api_queryset(tenant).get(pk=shipment_id)


def shipment_api_list(
    *, tenant: Any, order_id: int | None = None, warehouse_code: str | None = None, state: str | None = None
) -> QuerySet[Shipment]:
    qs = shipment_api_queryset(tenant)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    if warehouse_code:
        qs = qs.filter(warehouse__code=warehouse_code)
    if state:
        qs = qs.filter(state__in=state.split(","))
    return qs


def order_shipments_for_api(order: Any) -> list[Any]:
    """The order's shipments, oldest first: its Shipment rows, and the shipments recorded on the order
    that no row stands for (shipped before the fulfillment room, or marked shipped outside it)."""
    rows = list(shipment_api_queryset(order.tenant_id).filter(order=order).order_by("created_at", "pk"))
    covered = {shipment_reference(row) for row in rows}
    recorded = [
        recorded_shipment(order, record)
        for record in order_shipments(order)
        if record["reference"] not in covered
    ]
    return sorted([*rows, *recorded], key=_since)


def _since(shipment: Any) -> datetime:
    return shipment["shipped_at"] if isinstance(shipment, dict) else shipment.created_at


def recorded_shipment(order: Any, record: dict[str, Any]) -> dict[str, Any]:
    """A shipment recorded on the order (`orders.selectors.order_shipments`) with no Shipment row,
    in the attributes `ShipmentOutputSerializer` reads (the contract's shape, `id` null)."""
    shipped_at: datetime | None = record.get("shipped_at")
    return {
        "id": None,
        "number": record.get("reference", ""),
        "order_id": order.pk,
        "warehouse": None,
        "state": ShipmentState.SHIPPED,
        "carrier": record.get("carrier", ""),
        "service": "",
        "tracking_number": record.get("tracking_number", ""),
        "tracking_url": "",
        "label_url": "",
        "last_error": "",
        "lines": [{"sku": {"code": x["sku"]}, "quantity": x["quantity"]} for x in record.get("lines", [])],
        "parcels": [],
        "shipped_at": shipped_at,
        "delivered_at": None,
    }
