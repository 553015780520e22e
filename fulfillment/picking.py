"""Picking: pick lists, scan-confirming units, short picks.

A pick list gathers pending shipments of ONE warehouse that are on no open list and moves them to
picking; its lines are walked in bin order (the bin of the SKU's stock row in that warehouse,
empty bins last), then SKU code (selectors.pick_list_sheet renders it). Staff make lists with
filters; beat makes them for tenants with auto_pick_lists (`pick_lists_auto_create`).

A scan (a SKU code or a barcode, typed by a handheld scanner or a thumb) confirms units of the
first unpicked line of that SKU on the list. A code not on the list is `wrong_item`, a SKU whose
units are all picked is `already_picked`: the pages show both loudly.

A short pick (not found, damaged) goes through orders (`order_line_short`, which owns
allocations): that warehouse's allocation is given back, its stock written down through the
ledger, and the units allocated again from the nearest other warehouse or backordered; the
line shrinks, and the re-routed units become a new shipment at once (release).

Locks: a scan locks the shipments with an unpicked line of the SKU on the list, then those lines
(no order lock: it never moves an order). Making a list claims its shipments with SKIP LOCKED.
A short pick takes the house order: order, its lines, the shipment, its lines, then stock
(inside orders).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from fulfillment import locks
from fulfillment.errors import FulfillmentConflict, FulfillmentError, FulfillmentErrorCode
from fulfillment.lists import pick_list_refresh
from fulfillment.models import FulfillmentSettings, PickList, Shipment, ShipmentLine
from fulfillment.release import release_locked
from fulfillment.shipping import cancel_locked, order_after_shipment_gone, shipment_reference
from fulfillment.states import PickListKind, PickListState, ShipmentState, ShortReason
from inventory.barcodes import gtin_forms
from inventory.models import SKU, Warehouse
from oms.core.audit import actor_of, audit_record
from oms.models import Tenant
from orders.models import OrderLine
from orders.services import order_line_short

S = ShipmentState
# How many lists one automatic run makes per warehouse at most (the next run makes the rest).
AUTO_LISTS_PER_WAREHOUSE = 20


def _positive(quantity: Any) -> int:
    try:
        value = int(quantity)
    except (TypeError, ValueError):
        value = 0
    if value <= 0:
        raise FulfillmentError(
            FulfillmentErrorCode.INVALID_QUANTITY, "The quantity must be a positive number."
        )
    return value


# --- pick lists -------------------------------------------------------------------------------
def _filters_record(**filters: Any) -> dict[str, Any]:
    return {name: value for name, value in filters.items() if value not in (None, "", [])}


@transaction.atomic
def pick_list_create(
    *,
    tenant: Any,
    warehouse_id: int,
    shipment_ids: list[int] | None = None,
    carrier: str | None = None,
    service_level: str | None = None,
    promised_before: dt.date | None = None,
    promised_by: dt.date | None = None,
    limit: int | None = None,
    kind: str = PickListKind.BATCH,
    actor: Any = None,
) -> PickList:
    """Gather pending shipments of one warehouse that are on no list into a new open list and move
    them to picking: the given `shipment_ids`, or those matching the filters (carrier, service
    level, promised on or before a date; `promised_by` is the same as `promised_before`), earliest
    promise first, at most `limit`.

    Raises Warehouse.DoesNotExist / Shipment.DoesNotExist for another tenant's ids, `wrong_warehouse`
    (422) for a given shipment of another warehouse, `no_shipments` (409) when nothing is left to
    pick (given shipments already picked, packed, shipped or on a list are left out).
    """
    warehouse = Warehouse.objects.for_tenant(tenant).get(pk=warehouse_id)
    if kind not in PickListKind.values:
        raise FulfillmentError(
            FulfillmentErrorCode.INVALID_QUANTITY, f"A pick list is {' or '.join(PickListKind.values)}."
        )
    promised_before = promised_before or promised_by
    candidates = Shipment.objects.for_tenant(tenant).filter(
        warehouse=warehouse, state=S.PENDING, pick_list__isnull=True
    )
    if shipment_ids is not None:
        wanted = {int(pk) for pk in shipment_ids}
        found = dict(
            Shipment.objects.for_tenant(tenant).filter(pk__in=wanted).values_list("pk", "warehouse_id")
        )
        if set(found) != wanted:
            raise Shipment.DoesNotExist(f"Shipments {sorted(wanted - set(found))} not found")
        elsewhere = sorted(pk for pk, wh in found.items() if wh != warehouse.pk)
        if elsewhere:
            raise FulfillmentError(
                FulfillmentErrorCode.WRONG_WAREHOUSE,
                f"A pick list is for one warehouse; shipments {elsewhere} are not in {warehouse.code}.",
                shipment_ids=elsewhere,
            )
        candidates = candidates.filter(pk__in=wanted)
    if carrier:
        candidates = candidates.filter(carrier=carrier)
    if service_level:
        candidates = candidates.filter(service_level=service_level)
    if promised_before:
        candidates = candidates.filter(promised_date__lte=promised_before)
    # Claimed with SKIP LOCKED: a shipment another list (or a cancel) holds right now is left out.
    shipments = locks.shipments_claim(
        candidates.order_by(F("promised_date").asc(nulls_last=True), "pk"),
        limit=max(int(limit), 1) if limit else None,
    )
    if not shipments:
        raise FulfillmentConflict(
            FulfillmentErrorCode.NO_SHIPMENTS,
            f"No pending shipment in {warehouse.code} is waiting for a pick list"
            + (" with these filters." if shipment_ids is None else " among those chosen."),
        )
    pick_list = PickList.objects.create(
        tenant_id=warehouse.tenant_id,
        warehouse=warehouse,
        kind=kind,
        filters=_filters_record(
            carrier=carrier,
            service_level=service_level,
            promised_before=promised_before,
            limit=limit,
            shipment_ids=sorted(shipment_ids) if shipment_ids is not None else None,
        ),
        created_by=actor_of(actor)[1][:200],
    )
    for shipment in shipments:
        shipment.start_picking()  # the transition's check, in memory; one UPDATE writes them all
    Shipment.objects.for_tenant(tenant).filter(pk__in=[s.pk for s in shipments]).update(
        state=S.PICKING, pick_list=pick_list, updated_at=timezone.now()
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="pick_list.created",
        obj=pick_list,
        after={"warehouse": warehouse.code, "kind": kind, "shipments": [s.number for s in shipments]},
    )
    return pick_list


def pick_lists_auto_create(*, actor: Any = "system:auto-pick-lists") -> int:
    """Beat: for every tenant with auto_pick_lists, batch each warehouse's pending shipments into
    lists of the tenant's pick_list_size. Returns the lists made. Each list is its own transaction."""
    made = 0
    for settings in FulfillmentSettings.objects.unscoped().filter(auto_pick_lists=True).order_by("tenant_id"):
        tenant = Tenant.objects.get(pk=settings.tenant_id)
        warehouse_ids = (
            Shipment.objects.for_tenant(tenant)
            .filter(state=S.PENDING, pick_list__isnull=True)
            .values_list("warehouse_id", flat=True)
            .distinct()
            .order_by("warehouse_id")
        )
        for warehouse_id in list(warehouse_ids):
            for _ in range(AUTO_LISTS_PER_WAREHOUSE):
                try:
                    pick_list_create(
                        tenant=tenant,
                        warehouse_id=warehouse_id,
                        limit=settings.pick_list_size or 50,
                        kind=PickListKind.BATCH,
                        actor=actor,
                    )
                except FulfillmentConflict:
                    break
                made += 1
    return made


# --- scan ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PickConfirmation:
    line_id: int
    shipment_id: int
    shipment_number: str
    quantity: int


@dataclass
class ScanResult:
    """What one scan confirmed and what remains. `line` is the first line it confirmed."""

    pick_list: PickList
    sku: SKU
    line: ShipmentLine
    quantity: int
    confirmed: list[PickConfirmation] = field(default_factory=list)
    sku_remaining: int = 0  # units of this SKU still to pick on the list
    list_remaining: int = 0  # units still to pick on the whole list
    list_done: bool = False

    @property
    def shipment(self) -> Shipment:
        return self.line.shipment


def _list_lines(tenant: Any, pick_list: PickList) -> Any:
    return ShipmentLine.objects.for_tenant(tenant).filter(
        shipment__pick_list=pick_list, shipment__state=S.PICKING
    )


@transaction.atomic
def pick_scan(
    *, tenant: Any, pick_list_id: int, code: str, quantity: int = 1, actor: Any = None
) -> ScanResult:
    """Confirm `quantity` units (one scan: 1; a typed count: more) of the SKU whose code or barcode
    is `code`, on the list's first unpicked lines of that SKU. Raises PickList.DoesNotExist for
    another tenant's list, `pick_list_closed` (409), `wrong_item` (422: not on this list),
    `already_picked` (409: every unit of it is picked) or `too_many` (422: fewer are left)."""
    pick_list = PickList.objects.for_tenant(tenant).get(pk=pick_list_id)
    if pick_list.state != PickListState.OPEN:
        raise FulfillmentConflict(
            FulfillmentErrorCode.PICK_LIST_CLOSED,
            f"Pick list {pick_list.pk} is {pick_list.state}.",
            state=pick_list.state,
        )
    quantity = _positive(quantity)
    code = (code or "").strip()
    matching = (
        _list_lines(tenant, pick_list).filter(Q(sku__code=code) | Q(sku__barcode__in=gtin_forms(code)))
        if code
        else None
    )
    rows = list(matching.values_list("pk", "shipment_id", "quantity", "quantity_picked")) if matching else []
    if not rows:
        raise FulfillmentError(
            FulfillmentErrorCode.WRONG_ITEM,
            f"Wrong item: {code or 'nothing'} is not on pick list {pick_list.pk}.",
            scanned=code,
        )
    open_rows = [row for row in rows if row[2] > row[3]]
    if not open_rows:
        raise FulfillmentConflict(
            FulfillmentErrorCode.ALREADY_PICKED,
            f"Already picked: every unit of {code} on this list is picked.",
            scanned=code,
        )
    locks.shipments_for_update(tenant=tenant, shipment_ids=[row[1] for row in open_rows])
    lines = [
        line
        for line in locks.shipment_lines_by_pk_for_update(
            tenant=tenant, line_ids=[row[0] for row in open_rows]
        )
        if line.to_pick > 0
    ]
    live = set(
        Shipment.objects.for_tenant(tenant)
        .filter(pk__in={line.shipment_id for line in lines}, pick_list=pick_list, state=S.PICKING)
        .values_list("pk", flat=True)
    )
    lines = sorted((line for line in lines if line.shipment_id in live), key=lambda x: (x.shipment_id, x.pk))
    available = sum(line.to_pick for line in lines)
    if not available:
        raise FulfillmentConflict(
            FulfillmentErrorCode.ALREADY_PICKED,
            f"Already picked: every unit of {code} on this list is picked.",
            scanned=code,
        )
    if quantity > available:
        raise FulfillmentError(
            FulfillmentErrorCode.TOO_MANY,
            f"Only {available} unit(s) of {code} are left to pick on this list.",
            scanned=code,
            remaining=available,
        )
    left, touched, confirmed = quantity, [], []
    for line in lines:
        if not left:
            break
        take = min(left, line.to_pick)
        line.quantity_picked += take
        left -= take
        touched.append(line)
        confirmed.append(PickConfirmation(line.pk, line.shipment_id, "", take))
    ShipmentLine.objects.for_tenant(tenant).bulk_update(touched, ["quantity_picked"])
    numbers = dict(
        Shipment.objects.for_tenant(tenant)
        .filter(pk__in={c.shipment_id for c in confirmed})
        .values_list("pk", "number")
    )
    confirmed = [
        PickConfirmation(c.line_id, c.shipment_id, numbers[c.shipment_id], c.quantity) for c in confirmed
    ]
    first = ShipmentLine.objects.for_tenant(tenant).select_related("sku", "shipment").get(pk=touched[0].pk)
    remaining = _list_lines(tenant, pick_list).aggregate(
        sku=Sum(F("quantity") - F("quantity_picked"), filter=Q(sku_id=first.sku_id)),
        total=Sum(F("quantity") - F("quantity_picked")),
    )
    closed = pick_list_refresh(tenant=tenant, pick_list_id=pick_list.pk)
    if closed:
        pick_list.state = closed
    return ScanResult(
        pick_list=pick_list,
        sku=first.sku,
        line=first,
        quantity=quantity,
        confirmed=confirmed,
        sku_remaining=int(remaining["sku"] or 0),
        list_remaining=int(remaining["total"] or 0),
        list_done=closed == PickListState.DONE,
    )


# --- short pick ------------------------------------------------------------------------------
@dataclass
class Reroute:
    shipment_id: int
    shipment_number: str
    warehouse_code: str
    quantity: int


@dataclass
class ShortResult:
    """What a short pick did: the line shrank; the units went to other warehouses or wait."""

    line: ShipmentLine
    quantity: int
    reason: str
    rerouted: list[Reroute] = field(default_factory=list)
    backordered: int = 0
    shipment_cancelled: bool = False

    def __str__(self) -> str:
        sku = self.line.sku.code
        words = [f"{self.quantity} × {sku} short ({ShortReason(self.reason).label.lower()})."]
        for go in self.rerouted:
            words.append(f"{go.quantity} re-routed to {go.warehouse_code} (shipment {go.shipment_number}).")
        if self.backordered:
            words.append(f"{self.backordered} backordered.")
        if self.shipment_cancelled:
            words.append("Nothing is left in this shipment: it is cancelled.")
        return " ".join(words)


@transaction.atomic
def pick_short(
    *, tenant: Any, shipment_line_id: int, quantity: int, reason: str, actor: Any = None
) -> ShortResult:
    """`quantity` unpicked units of a shipment line cannot be picked (reason: not_found, damaged).

    That warehouse's stock is corrected through the ledger (an adjustment, or damage) after its
    allocation is given back; the line shrinks (quantity_short, short_reason); the order line is
    allocated again from the nearest other warehouse, which gets a new shipment at once, or
    backordered. A shipment left with nothing is cancelled. Raises ShipmentLine.DoesNotExist for
    another tenant's line, `invalid_reason` / `too_many` (422), `illegal_transition` (409) for a
    shipment past picking."""
    if reason not in ShortReason.values:
        raise FulfillmentError(
            FulfillmentErrorCode.INVALID_REASON,
            f"A short pick's reason is {' or '.join(ShortReason.values)}.",
            reason=reason,
        )
    quantity = _positive(quantity)
    shipment_id = (
        ShipmentLine.objects.for_tenant(tenant).values_list("shipment_id", flat=True).get(pk=shipment_line_id)
    )
    tree = locks.shipment_tree_for_update(tenant=tenant, shipment_id=shipment_id)
    shipment, order = tree.shipment, tree.order
    line = next(candidate for candidate in tree.lines if candidate.pk == int(shipment_line_id))
    if shipment.state not in (S.PENDING, S.PICKING):
        raise FulfillmentConflict(
            FulfillmentErrorCode.ILLEGAL_TRANSITION,
            f"Shipment {shipment.number} is {shipment.state}; only units still to pick can be short.",
            state=shipment.state,
        )
    if quantity > line.to_pick:
        raise FulfillmentError(
            FulfillmentErrorCode.TOO_MANY,
            f"Only {line.to_pick} unit(s) of {line.sku.code} are still to pick on this line.",
            remaining=line.to_pick,
        )
    line.quantity -= quantity
    line.quantity_short += quantity
    line.short_reason = reason
    line.save(update_fields=["quantity", "quantity_short", "short_reason"])
    emptied = all(candidate.quantity == 0 for candidate in tree.lines)
    if emptied:  # before the stock lock: the house order puts a shipment's labels before stock
        cancel_locked(
            tenant=tenant,
            order=order,
            shipment=shipment,
            reason="Short pick: nothing left to ship",
            actor=actor,
        )
    order_line_short(
        tenant=tenant,
        order_id=order.pk,
        order_line_id=line.order_line_id,
        warehouse_id=shipment.warehouse_id,
        quantity=quantity,
        reason=reason,
        reference=f"{shipment_reference(shipment)} short ({reason})",
        actor=actor,
    )
    made = release_locked(order, tree.order_lines, tenant=tenant, actor=actor)
    if emptied:
        order_after_shipment_gone(tenant=tenant, order=order, reason="Short pick", actor=actor)
    else:
        pick_list_refresh(tenant=tenant, pick_list_id=shipment.pick_list_id)
    rerouted = []
    if made:
        ids = [s.pk for s in made]
        for row in (
            ShipmentLine.objects.for_tenant(tenant)
            .filter(shipment_id__in=ids, order_line_id=line.order_line_id)
            .values("shipment_id", "shipment__number", "shipment__warehouse__code", "quantity")
            .order_by("shipment_id")
        ):
            rerouted.append(
                Reroute(
                    row["shipment_id"],
                    row["shipment__number"],
                    row["shipment__warehouse__code"],
                    row["quantity"],
                )
            )
    order_line = OrderLine.objects.for_tenant(tenant).get(pk=line.order_line_id)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="shipment.short_picked",
        obj=shipment,
        after={
            "line": line.pk,
            "sku": line.sku.code,
            "quantity": quantity,
            "reason": reason,
            "rerouted": [r.shipment_number for r in rerouted],
            "backordered": order_line.quantity_backordered,
        },
    )
    return ShortResult(
        line=line,
        quantity=quantity,
        reason=reason,
        rerouted=rerouted,
        backordered=order_line.quantity_backordered,
        shipment_cancelled=emptied,
    )
