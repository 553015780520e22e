"""Reads on SKUs, warehouses, stock and incoming stock. Every selector takes the tenant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import QuerySet, Sum
from django.utils import timezone

from inventory.models import (
    OPEN_INBOUND_STATES,
    SKU,
    InboundLine,
    Reservation,
    ReservationState,
    StockLevel,
    StockMovement,
    Warehouse,
)


def sku_get(*, tenant: Any, code: str) -> SKU:
    """The tenant's SKU with this code; SKU.DoesNotExist (-> 404) otherwise."""
    return SKU.objects.for_tenant(tenant).get(code=code)


def sku_list(*, tenant: Any, active: bool | None = None) -> QuerySet[SKU]:
    qs = SKU.objects.for_tenant(tenant)
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def skus_by_code(*, tenant: Any, codes: Iterable[str]) -> dict[str, SKU]:
    """The tenant's SKUs with these codes, by code (unknown codes are left out). An order's
    validation reads them on every placement: on PostgreSQL in a statement written once per
    process (the ORM's query, which stays SQLite's, is built anew each time)."""
    if connection.vendor != "postgresql":
        return {sku.code: sku for sku in SKU.objects.for_tenant(tenant).filter(code__in=set(codes))}
    names, statement = _skus_by_code_statement()
    with connection.cursor() as cursor:
        cursor.execute(statement, [tenant.pk, sorted(set(codes))])
        rows = cursor.fetchall()
    return {sku.code: sku for sku in (SKU.from_db(connection.alias, names, row) for row in rows)}


@cache
def _skus_by_code_statement() -> tuple[list[str], str]:
    fields = SKU._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(SKU._meta.db_table)
    return [
        f.attname for f in fields
    ], f"SELECT {columns} FROM {table} WHERE tenant_id = %s AND code = ANY(%s)"


def reservation_exists(*, tenant: Any, pk: int) -> bool:
    """Whether the tenant has a reservation with this id (whatever its state)."""
    return Reservation.objects.for_tenant(tenant).filter(pk=pk).exists()


def warehouse_get(*, tenant: Any, code: str) -> Warehouse:
    return Warehouse.objects.for_tenant(tenant).get(code=code)


def warehouse_list(*, tenant: Any, active: bool | None = None) -> QuerySet[Warehouse]:
    qs = Warehouse.objects.for_tenant(tenant)
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def stock_list(
    *, tenant: Any, sku_code: str | None = None, warehouse_code: str | None = None
) -> QuerySet[StockLevel]:
    qs = StockLevel.objects.for_tenant(tenant).select_related("sku", "warehouse")
    if sku_code:
        qs = qs.filter(sku__code=sku_code)
    if warehouse_code:
        qs = qs.filter(warehouse__code=warehouse_code)
    return qs


def stock_level_get(*, tenant: Any, sku_id: int, warehouse_id: int) -> StockLevel:
    return (
        StockLevel.objects.for_tenant(tenant)
        .select_related("sku", "warehouse")
        .get(sku_id=sku_id, warehouse_id=warehouse_id)
    )


@dataclass(frozen=True)
class WarehouseAvailability:
    warehouse: str
    on_hand: int
    allocated: int
    reserved: int
    available: int


@dataclass(frozen=True)
class SkuAvailability:
    sku: str
    available: int
    warehouses: list[WarehouseAvailability]


def sku_availability(*, tenant: Any, sku: SKU) -> SkuAvailability:
    """What can still be promised of a SKU, in total and per active warehouse."""
    rows = [
        WarehouseAvailability(
            warehouse=level.warehouse.code,
            on_hand=level.on_hand,
            allocated=level.allocated,
            reserved=level.reserved,
            available=level.available,
        )
        for level in StockLevel.objects.for_tenant(tenant)
        .filter(sku=sku, warehouse__active=True)
        .select_related("warehouse")
        .order_by("warehouse__priority", "warehouse__code")
    ]
    return SkuAvailability(sku=sku.code, available=sum(max(0, r.available) for r in rows), warehouses=rows)


def reservation_get(*, tenant: Any, reservation_id: int) -> Reservation:
    """A reservation the storefront can still see: one it released (DELETE) no longer exists for it."""
    return (
        Reservation.objects.for_tenant(tenant).exclude(state=ReservationState.RELEASED).get(pk=reservation_id)
    )


def reservation_lines(*, tenant: Any, reservation: Reservation) -> list[dict[str, Any]]:
    return [
        {"sku": line.sku.code, "quantity": line.quantity, "warehouse": line.warehouse.code}
        for line in reservation.lines.select_related("sku", "warehouse").order_by("pk")
    ]


def movement_list(*, tenant: Any, sku_id: int | None = None, warehouse_id: int | None = None) -> QuerySet:
    qs = StockMovement.objects.for_tenant(tenant)
    if sku_id is not None:
        qs = qs.filter(sku_id=sku_id)
    if warehouse_id is not None:
        qs = qs.filter(warehouse_id=warehouse_id)
    return qs


# --- incoming stock and promise dates -------------------------------------------------------
@dataclass(frozen=True)
class IncomingStock:
    expected_at: date
    quantity: int
    warehouse_id: int
    shipment_id: int
    is_estimate: bool  # True when the shipment has no expected date: created + lead time


def incoming_for_sku(*, tenant: Any, sku_id: int) -> list[IncomingStock]:
    """Units on the way for a SKU (open purchase orders and transfers), earliest first."""
    out: list[IncomingStock] = []
    for line in (
        InboundLine.objects.for_tenant(tenant)
        .filter(sku_id=sku_id, shipment__state__in=OPEN_INBOUND_STATES)
        .select_related("shipment", "shipment__warehouse", "sku")
    ):
        outstanding = line.quantity_outstanding
        if outstanding <= 0:
            continue
        shipment = line.shipment
        expected, estimate = shipment.expected_at, False
        if expected is None:
            lead = line.sku.lead_time_days or shipment.warehouse.default_lead_time_days
            expected, estimate = shipment.created_at.date() + timedelta(days=lead), True
        out.append(IncomingStock(expected, outstanding, shipment.warehouse_id, shipment.pk, estimate))
    out.sort(key=lambda item: (item.expected_at, item.shipment_id))
    return out


def promise_date_for(*, tenant: Any, sku_id: int, quantity: int, today: date | None = None) -> date | None:
    """When `quantity` units of a SKU can be promised: today if available now, else the date the
    incoming stock covers it, else None (nothing on order).

    To queue behind earlier backorders, pass their units plus this line's as `quantity`.
    """
    today = today or timezone.localdate()
    available = (
        StockLevel.objects.for_tenant(tenant)
        .filter(sku_id=sku_id, warehouse__active=True)
        .aggregate(units=Sum("on_hand") - Sum("allocated") - Sum("reserved"))["units"]
        or 0
    )
    if quantity <= available:
        return today
    needed = quantity - max(0, available)
    for incoming in incoming_for_sku(tenant=tenant, sku_id=sku_id):
        needed -= incoming.quantity
        if needed <= 0:
            return max(incoming.expected_at, today)
    return None
