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

from django.conf import settings
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.signals import post_save

from inventory.models import SKU, InboundShipment, Reservation, StockLevel, Warehouse
from oms.core.prepared import server_bound_cursor

Pair = tuple[int, int]  # (sku_id, warehouse_id)


def _for_update(qs: QuerySet[Any]) -> QuerySet[Any]:
    """The one spelling of a row lock in inventory."""
    return qs.select_for_update(of=("self",), no_key=True)


# --- the lock-order guard (tests) ----------------------------------------------------------------
class LockOrderViolation(AssertionError):
    """A transaction took stock out of the house order: rows below a row it already held, or
    missing rows created after it had locked some. Raised only with OMS_LOCK_ORDER_CHECK on."""


_GUARD_ATTR = "_oms_stock_locks_held"


def _guard_on() -> bool:
    return bool(getattr(settings, "OMS_LOCK_ORDER_CHECK", False))


def _transaction_key() -> tuple[Any, Any] | None:
    """What tells the current transaction (on the default connection) from the next; None outside one.

    The outermost atomic block that is not the test case's own opens the transaction. Under a
    test case's atomic it is a savepoint: its id, with the test's atomic block (a new object per
    test). Otherwise a real transaction: the list of on-commit hooks, which Django replaces on
    every commit and rollback (and on a savepoint rollback: the guard then forgets, never errs)."""
    blocks = connection.atomic_blocks
    first = next((i for i, block in enumerate(blocks) if not block._from_testcase), None)
    if first is None:
        return None
    if first == 0:
        return (connection.run_on_commit, None)
    return (blocks[first - 1], connection.savepoint_ids[first - 1])


class _Held:
    """What one transaction holds: stock rows it locked, and rows (pairs) it created."""

    def __init__(self, key: tuple[Any, Any]) -> None:
        self.key = key
        self.locked: set[int] = set()
        self.created: set[int] = set()
        self.created_pairs: set[Pair] = set()

    def contended(self) -> set[int]:
        # A row this transaction inserted is invisible to the others until it commits: nobody
        # else can lock it, only insert the same pair, which the create order below covers.
        return self.locked - self.created


def _held() -> _Held | None:
    """What this transaction has taken so far (None outside a transaction)."""
    key = _transaction_key()
    if key is None:
        return None
    state = connection.__dict__.get(_GUARD_ATTR)
    if state is None or state.key[0] is not key[0] or state.key[1] != key[1]:
        state = _Held(key)
        connection.__dict__[_GUARD_ATTR] = state
    return state


def _guard_lock(pks: Iterable[int]) -> None:
    """Record the rows one stock lock statement took; raise if it took any below one held before."""
    if not _guard_on():
        return
    held = _held()
    if held is None:
        return
    pks = set(pks)
    contended = held.contended()
    new = sorted(pks - held.locked - held.created)
    if contended and new and new[0] < max(contended):
        raise LockOrderViolation(
            f"Stock rows {new} locked after rows {sorted(contended)} in the same transaction: "
            f"row {new[0]} is below row {max(contended)} already held. Lock the whole set in one statement."
        )
    held.locked.update(pks)


def _guard_create(missing: list[Pair]) -> _Held | None:
    """Creating missing stock rows waits on a concurrent insert of the same pair: never while
    holding stock rows others can lock, and in (sku, warehouse) order across the transaction."""
    if not _guard_on() or not missing:
        return None
    held = _held()
    if held is None:
        return None
    if held.contended():
        raise LockOrderViolation(
            f"Stock rows for {missing} created after rows {sorted(held.contended())} were locked in the "
            "same transaction. Create missing rows before the stock lock."
        )
    if held.created_pairs and min(missing) < max(held.created_pairs):
        raise LockOrderViolation(
            f"Stock rows for {missing} created after rows for {sorted(held.created_pairs)} in the same "
            "transaction, out of (sku, warehouse) order. Create them in one statement."
        )
    return held


def _guard_created(held: _Held | None, tenant: Any, missing: list[Pair]) -> None:
    if held is None:
        return
    held.created_pairs.update(missing)
    held.created.update(
        StockLevel.objects.for_tenant(tenant).filter(_pairs_condition(missing)).values_list("pk", flat=True)
    )


def _guard_saved(sender: Any, instance: StockLevel, created: bool, **_: Any) -> None:
    """A stock row inserted one by one (a get_or_create): this transaction's own, like those above."""
    if created and _guard_on():
        held = _held()
        if held is not None:
            held.created.add(instance.pk)


post_save.connect(_guard_saved, sender=StockLevel, dispatch_uid="inventory.locks.guard")


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
    held = _guard_create(missing)
    if missing:
        StockLevel.objects.bulk_create(
            [StockLevel(tenant=tenant, sku_id=sku_id, warehouse_id=wh_id) for sku_id, wh_id in missing],
            ignore_conflicts=True,
        )
        _guard_created(held, tenant, missing)
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
    rows = list(_for_update(qs.order_by("pk")))
    _guard_lock(row["pk"] if isinstance(row, dict) else row.pk for row in rows)
    return rows


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
    "sku__code",  # for the plan's explanation; the lock is on the stock rows only (of=self)
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


# --- the optimistic take ---------------------------------------------------------------------------
def stock_take_guarded(
    *, tenant: Any, wanted: dict[int, int], now: Any, also_lock: Iterable[int] = ()
) -> bool:
    """Allocate `wanted` (stock_level_id -> units) in one statement, each row only if it still has
    the units free; all or nothing: False (and no row changed) when any row lacks them.
    `also_lock`: rows locked with them, in the same ordered set, though nothing is taken from them
    (all the stock rows of the order's SKUs: whatever the caller locks next in its transaction
    is then already held, and no lock is taken out of order).

    For a plan made on unlocked rows (orders/fastpath.py): the rows are locked by this statement
    alone, in pk order, and stay locked until the caller commits. On PostgreSQL one statement
    locks the set in order, reading each row as the last writer committed it (a locking read
    waits for that writer, then sees its row), and updates the set only when no row is short:
    a caller may go on in its transaction after False. SQLite serialises writers: one guarded
    UPDATE per row, the rows already taken given back when one is short.
    """
    pks = sorted(pk for pk, units in wanted.items() if units)
    if not pks:
        return True
    locking = sorted(set(pks) | set(also_lock))
    _guard_lock(locking)
    table = connection.ops.quote_name(StockLevel._meta.db_table)
    if connection.vendor == "postgresql":
        # Planned once per connection (oms.core.prepared): it runs on every placement.
        with server_bound_cursor() as cursor:
            cursor.execute(
                f"""
                WITH wanted(id, units) AS (SELECT * FROM unnest(%s::bigint[], %s::integer[])),
                locked AS (
                    SELECT s.id, s.on_hand - s.allocated - s.reserved AS free FROM {table} s
                    JOIN wanted USING (id)
                    WHERE s.tenant_id = %s::bigint ORDER BY s.id FOR NO KEY UPDATE OF s
                ),
                short AS (SELECT 1 FROM locked JOIN wanted USING (id) WHERE locked.free < wanted.units)
                UPDATE {table} s SET allocated = s.allocated + wanted.units, updated_at = %s::timestamptz
                FROM wanted, locked
                WHERE s.id = wanted.id AND s.id = locked.id AND NOT EXISTS (SELECT 1 FROM short)
                  AND wanted.units > 0 AND s.on_hand - s.allocated - s.reserved >= wanted.units
                """,
                [locking, [wanted.get(pk, 0) for pk in locking], tenant.pk, now],
            )
            return cursor.rowcount == len(pks)
    rows = StockLevel.objects.for_tenant(tenant)
    for index, pk in enumerate(pks):
        taken = rows.filter(pk=pk, on_hand__gte=F("allocated") + F("reserved") + wanted[pk]).update(
            allocated=F("allocated") + wanted[pk], updated_at=now
        )
        if not taken:
            for given_back in pks[:index]:
                rows.filter(pk=given_back).update(allocated=F("allocated") - wanted[given_back])
            return False
    return True


def stock_none_free_shared(*, tenant: Any, sku_ids: Iterable[int]) -> bool:
    """True when no stock row of these SKUs has a unit free or reserved; on PostgreSQL the rows are
    then share-locked (FOR SHARE, pk order) until the caller commits.

    For an order that finds no stock and is placed backordered without planning under an exclusive
    lock (orders/fastpath.py): share locks do not wait for each other, so such orders do not queue
    behind one another, while a receipt of these rows waits for the commit and its backorder sweep
    then sees the order. SQLite serialises writers: a plain read.
    """
    ids = sorted(set(sku_ids))
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(StockLevel._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH s AS (
                    SELECT on_hand, allocated, reserved FROM {table}
                    WHERE tenant_id = %s AND sku_id = ANY(%s) ORDER BY id FOR SHARE
                )
                SELECT count(*) FROM s WHERE on_hand - allocated - reserved > 0 OR reserved > 0
                """,
                [tenant.pk, ids],
            )
            return cursor.fetchone()[0] == 0
    return not (
        StockLevel.objects.for_tenant(tenant)
        .filter(sku_id__in=ids)
        .filter(Q(on_hand__gt=F("allocated") + F("reserved")) | Q(reserved__gt=0))
        .exists()
    )
