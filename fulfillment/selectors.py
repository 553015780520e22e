"""Fulfillment reads. Every selector takes the tenant; another tenant's id is DoesNotExist (a 404).

`pick_list_sheet` renders a pick list in two queries whatever the number of orders on it: the
list, then its lines with their SKU, shipment, order and bin in walking order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import NullIf

from fulfillment.models import FulfillmentSettings, Label, Parcel, PickList, Shipment, ShipmentLine
from fulfillment.shipping import shipment_reference
from fulfillment.states import OPEN, PickListKind, PickListState, ShipmentState
from inventory.models import StockLevel
from orders.selectors import order_shipments


def fulfillment_settings_get(*, tenant: Any) -> FulfillmentSettings:
    """The tenant's settings row, or the defaults (unsaved) before staff first change them."""
    tenant_id = getattr(tenant, "pk", tenant)
    found = FulfillmentSettings.objects.for_tenant(tenant_id).first()
    return found if found is not None else FulfillmentSettings(tenant_id=tenant_id)


# --- shipments and pick lists of a warehouse ----------------------------------------------------
def shipment_list(
    *,
    tenant: Any,
    warehouse_id: int | None = None,
    order_id: int | None = None,
    state: str | list[str] | None = None,
    carrier: str | None = None,
    service_level: str | None = None,
    promised_before: dt.date | None = None,
    on_pick_list: bool | None = None,
) -> QuerySet[Shipment]:
    """Shipments with their order and warehouse, earliest promise first (then oldest)."""
    qs = Shipment.objects.for_tenant(tenant).select_related("order", "warehouse")
    if warehouse_id is not None:
        qs = qs.filter(warehouse_id=warehouse_id)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    if state:
        qs = qs.filter(state__in=[state] if isinstance(state, str) else list(state))
    if carrier:
        qs = qs.filter(carrier=carrier)
    if service_level:
        qs = qs.filter(service_level=service_level)
    if promised_before:
        qs = qs.filter(promised_date__lte=promised_before)
    if on_pick_list is not None:
        qs = qs.filter(pick_list__isnull=not on_pick_list)
    return qs.order_by(F("promised_date").asc(nulls_last=True), "pk")


def shipments_waiting_for_pick_list(*, tenant: Any, warehouse_id: int) -> QuerySet[Shipment]:
    """Pending shipments of a warehouse on no list: what a new pick list would gather."""
    return shipment_list(tenant=tenant, warehouse_id=warehouse_id, state=OPEN[0], on_pick_list=False)


def pick_list_list(
    *, tenant: Any, warehouse_id: int, state: str | None = PickListState.OPEN
) -> QuerySet[PickList]:
    qs = PickList.objects.for_tenant(tenant).filter(warehouse_id=warehouse_id)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-pk")


# --- a pick list, ready to print -------------------------------------------------------------------
@dataclass
class PickLineRow:
    """One shipment line on the list."""

    line_id: int
    shipment_id: int
    shipment_number: str
    shipment_state: str
    order_id: int
    order_number: str
    quantity: int
    picked: int
    short: int
    short_reason: str

    @property
    def to_pick(self) -> int:
        return self.quantity - self.picked


@dataclass
class PickStop:
    """One stop on the walk: a bin and a SKU, with every line that wants it (batch picking)."""

    bin_location: str
    sku_id: int
    sku_code: str
    sku_name: str
    barcode: str
    lines: list[PickLineRow] = field(default_factory=list)

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def picked(self) -> int:
        return sum(line.picked for line in self.lines)

    @property
    def short(self) -> int:
        return sum(line.short for line in self.lines)

    @property
    def to_pick(self) -> int:
        return self.quantity - self.picked


@dataclass
class PickOrder:
    """One shipment with its stops in walking order (single-order picking)."""

    shipment_id: int
    shipment_number: str
    order_number: str
    stops: list[PickStop] = field(default_factory=list)

    @property
    def to_pick(self) -> int:
        return sum(stop.to_pick for stop in self.stops)


@dataclass
class PickListSheet:
    pick_list: PickList
    stops: list[PickStop]  # batch: one per (bin, SKU), totals and the per-shipment breakdown
    orders: list[PickOrder]  # single: one per shipment, its stops in walking order

    @property
    def rows(self) -> list[PickStop] | list[PickOrder]:
        return self.orders if self.pick_list.kind == PickListKind.SINGLE else self.stops

    @property
    def quantity(self) -> int:
        return sum(stop.quantity for stop in self.stops)

    @property
    def to_pick(self) -> int:
        return sum(stop.to_pick for stop in self.stops)


def pick_list_lines(*, tenant: Any, pick_list: PickList) -> QuerySet[ShipmentLine]:
    """The list's shipment lines in walking order: bin (empty bins last), SKU code, shipment, line;
    each with `bin_location` (None for no bin), its SKU, shipment and order loaded."""
    bins = StockLevel.objects.for_tenant(tenant).filter(
        sku_id=OuterRef("sku_id"), warehouse_id=pick_list.warehouse_id
    )
    return (
        ShipmentLine.objects.for_tenant(tenant)
        .filter(shipment__pick_list=pick_list)
        .select_related("sku", "shipment", "shipment__order")
        .annotate(bin_location=NullIf(Subquery(bins.values("bin_location")[:1]), Value("")))
        .order_by(F("bin_location").asc(nulls_last=True), "sku__code", "shipment_id", "pk")
    )


SHEET_FIELDS = (
    "pk",
    "sku_id",
    "sku__code",
    "sku__name",
    "sku__barcode",
    "shipment_id",
    "shipment__number",
    "shipment__state",
    "shipment__order_id",
    "shipment__order__number",
    "quantity",
    "quantity_picked",
    "quantity_short",
    "short_reason",
    "bin_location",
)


def pick_list_sheet(*, tenant: Any, pick_list_id: int) -> PickListSheet:
    """A pick list as the page prints it, in two queries whatever its size (plain rows, no models)."""
    pick_list = PickList.objects.for_tenant(tenant).select_related("warehouse").get(pk=pick_list_id)
    stops: dict[tuple[str, int], PickStop] = {}
    orders: dict[int, PickOrder] = {}
    for line in pick_list_lines(tenant=tenant, pick_list=pick_list).values(*SHEET_FIELDS):
        row = PickLineRow(
            line_id=line["pk"],
            shipment_id=line["shipment_id"],
            shipment_number=line["shipment__number"],
            shipment_state=line["shipment__state"],
            order_id=line["shipment__order_id"],
            order_number=line["shipment__order__number"],
            quantity=line["quantity"],
            picked=line["quantity_picked"],
            short=line["quantity_short"],
            short_reason=line["short_reason"],
        )
        sku = (line["sku_id"], line["sku__code"], line["sku__name"], line["sku__barcode"])
        bin_location = line["bin_location"] or ""
        stop = stops.get((bin_location, sku[0]))
        if stop is None:
            stop = stops[(bin_location, sku[0])] = PickStop(bin_location, *sku)
        stop.lines.append(row)
        order = orders.get(row.shipment_id)
        if order is None:
            order = orders[row.shipment_id] = PickOrder(
                row.shipment_id, row.shipment_number, row.order_number
            )
        order.stops.append(PickStop(bin_location, *sku, [row]))
    return PickListSheet(
        pick_list=pick_list,
        stops=list(stops.values()),
        orders=sorted(orders.values(), key=lambda o: o.shipment_id),
    )


# --- the shipments API and the order JSON --------------------------------------------------------
def shipment_detail_queryset(tenant: Any) -> QuerySet[Shipment]:
    """Shipments with what their JSON shows, in a fixed number of queries whatever the page size."""
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


def shipment_detail_get(*, tenant: Any, shipment_id: Any) -> Shipment:
    return shipment_detail_queryset(tenant).get(pk=shipment_id)


def shipment_search(
    *, tenant: Any, order_id: int | None = None, warehouse_code: str | None = None, state: str | None = None
) -> QuerySet[Shipment]:
    """The API's list filters: an order's id, a warehouse's code, states (comma-separated)."""
    qs = shipment_detail_queryset(tenant)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    if warehouse_code:
        qs = qs.filter(warehouse__code=warehouse_code)
    if state:
        qs = qs.filter(state__in=state.split(","))
    return qs


# Whether the order `o` has shipment rows (orders/api/shipments.py): the order page asks it in the
# order's own statement and reads the shipments only when there are some.
ORDER_SHIPMENT_ROWS_SQL = (
    f"SELECT 1 FROM {Shipment._meta.db_table} WHERE tenant_id = o.tenant_id AND order_id = o.id"
)


def order_shipments_for_api(order: Any) -> list[Any]:
    """The order's shipments, oldest first: its Shipment rows, and the shipments recorded on the order
    that no row stands for (shipped before the fulfillment room, or marked shipped outside it)."""
    rows = list(shipment_detail_queryset(order.tenant_id).filter(order=order).order_by("created_at", "pk"))
    covered = {shipment_reference(row) for row in rows}
    recorded = [
        recorded_shipment(order, record)
        for record in order_shipments(order)
        if record["reference"] not in covered
    ]
    return sorted([*rows, *recorded], key=_since)


def _since(shipment: Any) -> dt.datetime:
    return shipment["shipped_at"] if isinstance(shipment, dict) else shipment.created_at


def recorded_shipment(order: Any, record: dict[str, Any]) -> dict[str, Any]:
    """A shipment recorded on the order (`orders.selectors.order_shipments`) with no Shipment row,
    in the attributes `ShipmentOutputSerializer` reads (the contract's shape, `id` null)."""
    shipped_at: dt.datetime | None = record.get("shipped_at")
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
