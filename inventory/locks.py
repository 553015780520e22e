"""The one place inventory spells select_for_update, and the lock order every stock writer keeps.

Lock order (a transaction takes what it needs in this order, never back up the list):

1. documents, parent before child: an order, then its lines, by pk (orders/locks.py); or one
   inbound shipment (`inbound_shipment_for_update`). SKUs and warehouses being edited are
   locked alone, never together with stock.
2. missing stock rows are created (`stock_rows_create`: one INSERT ... ON CONFLICT DO NOTHING,
   in (sku, warehouse) order) before any stock row is locked;
3. every StockLevel row the transaction will read for a decision or write, in ONE statement
   ordered by pk (`stock_lock` / `stock_rows(lock=True)`). A re-allocation locks the rows it
   gives back together with the rows it may take; a receipt of several SKUs locks them all
   at once. Nested services may lock again only rows the outer statement already holds;
4. reservations, in one statement, by pk (`reservations_for_update`).

Two transactions that each take one ordered statement of stock rows cannot deadlock on them;
a transaction that locks some rows and then others (one by one, or "what I give back" then
"what I take") can. tests/inventory/test_lock_order.py checks that no module spells
select_for_update outside the locks modules and that each stock service issues one stock
lock statement; tests/stress/ runs them all at once on PostgreSQL.

Rows are locked FOR NO KEY UPDATE: it serialises the writers of a row just as FOR UPDATE does,
but does not block the foreign-key checks of rows inserted beside it (ledger, allocation and
reservation rows pointing at a stock row). On SQLite the IMMEDIATE write transaction
serialises writers instead and select_for_update is a no-op.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from functools import reduce
from typing import Any

from django.db.models import Q, QuerySet

from inventory.models import SKU, InboundShipment, Reservation, StockLevel, Warehouse

Pair = tuple[int, int]  # (sku_id, warehouse_id)


def _for_update(qs: QuerySet[Any]) -> QuerySet[Any]:
    """The one spelling of a row lock in inventory."""
    return qs.select_for_update(of=("self",), no_key=True)


# --- 2. creating missing stock rows ---------------------------------------------------------
def stock_rows_create(*, tenant: Any, pairs: Iterable[Pair]) -> list[Pair]:
    """Make sure a stock row exists for each (sku_id, warehouse_id), at zero. Locks nothing.

    Returns the pairs that had no row when it looked (created here, or by a concurrent insert).

    Raises SKU.DoesNotExist / Warehouse.DoesNotExist for ids that are not the tenant's. Call it
    before the stock lock: inserting a row another transaction is inserting waits for it.
    """
    wanted = sorted(set(pairs))
    if not wanted:
        return []
    sku_ids = {sku_id for sku_id, _ in wanted}
    warehouse_ids = {wh_id for _, wh_id in wanted}
    if SKU.objects.for_tenant(tenant).filter(pk__in=sku_ids).count() != len(sku_ids):
        raise SKU.DoesNotExist("Unknown SKU")
    if Warehouse.objects.for_tenant(tenant).filter(pk__in=warehouse_ids).count() != len(warehouse_ids):
        raise Warehouse.DoesNotExist("Unknown warehouse")
    existing = set(
        StockLevel.objects.for_tenant(tenant)
        .filter(_pairs_condition(wanted))
        .values_list("sku_id", "warehouse_id")
    )
    missing = [pair for pair in wanted if pair not in existing]
    if missing:
        StockLevel.objects.bulk_create(
            [StockLevel(tenant=tenant, sku_id=sku_id, warehouse_id=wh_id) for sku_id, wh_id in missing],
            ignore_conflicts=True,
        )
    return missing


def _pairs_condition(pairs: Iterable[Pair]) -> Q:
    by_warehouse: dict[int, set[int]] = {}
    for sku_id, wh_id in pairs:
        by_warehouse.setdefault(wh_id, set()).add(sku_id)
    return _any(
        Q(warehouse_id=wh_id, sku_id__in=sorted(skus)) for wh_id, skus in sorted(by_warehouse.items())
    )


def _any(conditions: Iterable[Q]) -> Q:
    return reduce(operator.or_, conditions, Q(pk__in=[]))


def _stock_condition(pks: Iterable[int], sku_ids: Iterable[int], pairs: Iterable[Pair]) -> Q | None:
    pks, sku_ids, pairs = sorted(set(pks)), sorted(set(sku_ids)), sorted(set(pairs))
    parts = []
    if pks:
        parts.append(Q(pk__in=pks))
    if sku_ids:
        parts.append(Q(sku_id__in=sku_ids))
    if pairs:
        parts.append(_pairs_condition(pairs))
    return _any(parts) if parts else None


# --- 3. the stock lock: one statement, ordered by pk ----------------------------------------------
def _lock_stock(qs: QuerySet[Any]) -> list[Any]:
    """The one statement that locks stock rows: the whole set, ordered by pk."""
    return list(_for_update(qs.order_by("pk")))


class LockedStock(dict[int, StockLevel]):
    """The locked StockLevel rows of one transaction, by pk, with a lookup by (sku, warehouse)."""

    def at(self, sku_id: int, warehouse_id: int) -> StockLevel:
        for level in self.values():
            if level.sku_id == sku_id and level.warehouse_id == warehouse_id:
                return level
        raise StockLevel.DoesNotExist(f"No stock row for SKU {sku_id} in warehouse {warehouse_id}")


def stock_lock(
    *,
    tenant: Any,
    pks: Iterable[int] = (),
    sku_ids: Iterable[int] = (),
    pairs: Iterable[Pair] = (),
    create: bool = False,
) -> LockedStock:
    """Lock, in one statement ordered by pk, the stock rows with these pks, every row of these
    SKUs and the rows of these (sku_id, warehouse_id) pairs; with create=True missing pair rows
    are created first. The SKU and warehouse ride along, unlocked."""
    pairs = list(pairs)
    if create:
        stock_rows_create(tenant=tenant, pairs=pairs)
    condition = _stock_condition(pks, sku_ids, pairs)
    if condition is None:
        return LockedStock()
    qs = StockLevel.objects.for_tenant(tenant).filter(condition).select_related("sku", "warehouse")
    return LockedStock((level.pk, level) for level in _lock_stock(qs))


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
    """Like stock_lock, as plain rows (STOCK_ROW_FIELDS) for the allocation hot path.

    With lock=False it is a plain read (a preview), in the same order.
    """
    condition = _stock_condition(pks, sku_ids, ())
    if condition is None:
        return []
    qs = StockLevel.objects.for_tenant(tenant).filter(condition).values(*STOCK_ROW_FIELDS)
    return _lock_stock(qs) if lock else list(qs.order_by("pk"))


# --- documents and reservations ----------------------------------------------------------------
def reservations_for_update(*, tenant: Any, pks: Iterable[int]) -> list[Reservation]:
    """Lock reservations in one statement, by pk: after the stock rows they hold."""
    return list(
        _for_update(Reservation.objects.for_tenant(tenant).filter(pk__in=sorted(set(pks))).order_by("pk"))
    )


def inbound_shipment_for_update(*, tenant: Any, pk: int) -> InboundShipment:
    """Lock an inbound shipment: a document, taken before any stock row."""
    return _for_update(InboundShipment.objects.for_tenant(tenant)).get(pk=pk)


def sku_for_update(*, tenant: Any, pk: int) -> SKU:
    """Lock a SKU being edited; no stock row is locked in the same transaction."""
    return _for_update(SKU.objects.for_tenant(tenant)).get(pk=pk)


def warehouse_for_update(*, tenant: Any, pk: int) -> Warehouse:
    """Lock a warehouse being edited; no stock row is locked in the same transaction."""
    return _for_update(Warehouse.objects.for_tenant(tenant)).get(pk=pk)
