"""The one place inventory spells select_for_update.

Lock order everywhere: StockLevel rows first, ordered by pk, then reservations (by pk),
then inbound shipments. On SQLite the write transaction itself serialises (IMMEDIATE mode)
and select_for_update is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from inventory.models import SKU, InboundShipment, Reservation, StockLevel, Warehouse


def stock_levels_for_update(
    *, tenant: Any, pks: Iterable[int] = (), sku_ids: Iterable[int] = ()
) -> list[StockLevel]:
    """Lock (and return, ordered by pk) the stock rows with these pks and every row of these SKUs.

    One query, whatever the number of warehouses; the warehouse rides along unlocked.
    """
    pks, sku_ids = sorted(set(pks)), sorted(set(sku_ids))
    if not pks and not sku_ids:
        return []
    condition = Q()
    if pks:
        condition |= Q(pk__in=pks)
    if sku_ids:
        condition |= Q(sku_id__in=sku_ids)
    return list(
        StockLevel.objects.for_tenant(tenant)
        .filter(condition)
        .select_related("warehouse")
        .order_by("pk")
        .select_for_update(of=("self",))
    )


STOCK_ROW_FIELDS = (
    "pk",
    "sku_id",
    "warehouse_id",
    "on_hand",
    "allocated",
    "reserved",
    "warehouse__code",
    "warehouse__latitude",
    "warehouse__longitude",
    "warehouse__priority",
    "warehouse__active",
    "warehouse__ships_to",
)


def stock_rows(
    *, tenant: Any, pks: Iterable[int] = (), sku_ids: Iterable[int] = (), lock: bool
) -> list[dict[str, Any]]:
    """Like stock_levels_for_update, as plain rows (STOCK_ROW_FIELDS) for the allocation hot path.

    With lock=False it is a plain read (a preview).
    """
    pks, sku_ids = sorted(set(pks)), sorted(set(sku_ids))
    if not pks and not sku_ids:
        return []
    condition = Q()
    if pks:
        condition |= Q(pk__in=pks)
    if sku_ids:
        condition |= Q(sku_id__in=sku_ids)
    qs = StockLevel.objects.for_tenant(tenant).filter(condition).order_by("pk").values(*STOCK_ROW_FIELDS)
    if lock:
        qs = qs.select_for_update(of=("self",))
    return list(qs)


def stock_level_for_update(*, tenant: Any, sku: SKU, warehouse: Warehouse) -> StockLevel:
    """The stock row of one SKU in one warehouse, created at zero if missing, locked."""
    level, _ = StockLevel.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, sku=sku, warehouse=warehouse
    )
    return (
        StockLevel.objects.for_tenant(tenant)
        .select_related("sku", "warehouse")
        .select_for_update(of=("self",))
        .get(pk=level.pk)
    )


def reservations_for_update(*, tenant: Any, pks: Iterable[int]) -> QuerySet[Reservation]:
    return (
        Reservation.objects.for_tenant(tenant)
        .filter(pk__in=sorted(set(pks)))
        .order_by("pk")
        .select_for_update()
    )


def inbound_shipment_for_update(*, tenant: Any, pk: int) -> InboundShipment:
    return InboundShipment.objects.for_tenant(tenant).select_for_update().get(pk=pk)
