"""The optimistic placement: plan on unlocked stock, write the order as planned, take the stock last.

The storefront API's hot path (services.order_create with savepoint=False). A plain placement (no
holds, no checkout reservation) whose SKUs no older order is waiting for, and that stock covers
in full, is planned on stock rows read without a lock. The order, its lines and allocations and
its timeline are then inserted once, in their final state (no UPDATE after the INSERT), and the
stock is taken in one guarded statement, the transaction's last before the Idempotency-Key record
and the commit (inventory.locks.stock_take_guarded): stock rows stay locked for that statement
and the commit only, so orders for one hot SKU do not queue behind each other's Python.

When another transaction took the units in between, the guard fails, `StockMoved` rolls the whole
placement back and the caller runs it again the locked way (services._order_create), which also
serves older backorders first, releases expired reservations and backorders what is short.
Anything this path does not cover (`placement_plan` returns None) goes the locked way at once,
in the same transaction, with nothing written yet.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, F, OuterRef

from inventory.allocation import (
    AllocationPlan,
    AllocationPolicy,
    DemandLine,
    ShipTo,
    candidates_from_levels,
    levels_from_rows,
    plan_allocation,
)
from inventory.locks import STOCK_ROW_FIELDS, stock_take_guarded
from inventory.models import StockLevel
from inventory.signals import stock_taken
from orders.models import Allocation, OrderLine
from orders.states import WAITING


class StockMoved(Exception):
    """The units planned on were taken by another transaction: run the placement again, locked."""


def line_key(index: int) -> str:
    return f"line:{index}"


def placement_plan(
    *, tenant: Any, lines: list[OrderLine], ship_to: ShipTo, policy: AllocationPolicy
) -> AllocationPlan | None:
    """A complete plan for these (unsaved) lines on the stock as it stands, read in one statement
    without locks; None when the locked way must decide (an older order waits for one of the
    SKUs, or the stock does not cover every unit)."""
    sku_ids = {line.sku_id for line in lines}
    waiting = OrderLine.objects.for_tenant(tenant).filter(
        sku_id=OuterRef("sku_id"),
        order__state__in=WAITING,
        quantity__gt=F("quantity_allocated") + F("quantity_shipped"),
    )
    rows = list(
        StockLevel.objects.for_tenant(tenant)
        .filter(sku_id__in=sku_ids)
        .annotate(waiting=Exists(waiting))
        .values(*STOCK_ROW_FIELDS, "waiting")
        .order_by("pk")
    )
    if any(row["waiting"] for row in rows):
        return None
    demand = [DemandLine(line_key(index), line.sku_id, line.quantity) for index, line in enumerate(lines)]
    plan = plan_allocation(
        demand, candidates_from_levels(levels_from_rows(rows).values(), sku_ids), ship_to, policy
    )
    return plan if plan.is_complete else None


def allocations_of(plan: AllocationPlan, lines: list[OrderLine]) -> list[Allocation]:
    """The plan's picks as Allocation rows of the (now saved) lines, one per line and stock row."""
    rows: dict[tuple[int, int], Allocation] = {}
    for pick in plan.picks:
        line = lines[int(pick.key.split(":")[1])]
        slot = (line.pk, pick.stock_level_id)
        if slot in rows:
            rows[slot].quantity += pick.quantity
        else:
            rows[slot] = Allocation(
                tenant_id=line.tenant_id,
                order_line=line,
                stock_level_id=pick.stock_level_id,
                warehouse_id=pick.warehouse_id,
                quantity=pick.quantity,
            )
    return list(rows.values())


def lines_allocated(plan: AllocationPlan, lines: list[OrderLine]) -> None:
    for pick in plan.picks:
        lines[int(pick.key.split(":")[1])].quantity_allocated += pick.quantity


def stock_take(*, tenant: Any, plan: AllocationPlan, now: Any) -> None:
    """Take the plan's units, all or none; StockMoved when the stock changed since the plan."""
    wanted: dict[int, int] = {}
    for pick in plan.picks:
        wanted[pick.stock_level_id] = wanted.get(pick.stock_level_id, 0) + pick.quantity
    if not stock_take_guarded(tenant=tenant, wanted=wanted, now=now):
        raise StockMoved(f"Stock rows {sorted(wanted)} changed since the plan")
    stock_taken.send(sender="inventory", tenant_id=tenant.pk, stock_level_ids=sorted(wanted))
