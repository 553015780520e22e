"""Packing: the contents are confirmed by scan, the parcel weighed and measured, the shipment packed.

Every unit picked must be confirmed in the box (`pack_scan`, or the counts given to
`shipment_pack`); a shipment nobody picked from a list (pending: picked and packed at the bench)
confirms its picking by packing. Parcels default to the SKUs' weights and dimensions. A packed
shipment may be packed again (its parcels replaced) until a label is bought.

Locks: the shipment, then its lines (no order lock: packing never moves the order).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from fulfillment import locks
from fulfillment.errors import FulfillmentConflict, FulfillmentError, FulfillmentErrorCode
from fulfillment.lists import pick_list_refresh
from fulfillment.models import Parcel, Shipment, ShipmentLine
from fulfillment.states import ShipmentState
from inventory.barcodes import gtin_forms
from oms.core.audit import audit_record

S = ShipmentState
PARCEL_FIELDS = ("weight_grams", "length_mm", "width_mm", "height_mm")


def _packable(line: ShipmentLine, state: str) -> int:
    """Units of a line that may still go in the box: what was picked (what is there, at the bench)."""
    ready = line.quantity if state == S.PENDING else line.quantity_picked
    return max(ready - line.quantity_packed, 0)


def _locked(tenant: Any, shipment_id: Any) -> tuple[Shipment, list[ShipmentLine]]:
    shipment = locks.shipment_for_update(tenant=tenant, shipment_id=shipment_id)
    return shipment, locks.shipment_lines_for_update(tenant=tenant, shipment_ids=[shipment.pk])


@transaction.atomic
def pack_scan(
    *, tenant: Any, shipment_id: int, code: str, quantity: int = 1, actor: Any = None
) -> ShipmentLine:
    """One unit (or a typed count) of the SKU with this code or barcode goes in the box. Returns the
    line. Raises Shipment.DoesNotExist for another tenant's id, `wrong_item` (422: not in this
    shipment), `already_packed` (409: every picked unit of it is in the box), `too_many` (422)."""
    shipment, lines = _locked(tenant, shipment_id)
    if shipment.state not in (S.PENDING, S.PICKING):
        raise FulfillmentConflict(
            FulfillmentErrorCode.ALREADY_PACKED,
            f"Shipment {shipment.number} is {shipment.state}; its box is closed.",
            state=shipment.state,
        )
    code = (code or "").strip()
    forms = gtin_forms(code)
    matching = [
        line
        for line in lines
        if code and (code == line.sku.code or line.sku.barcode in forms) and line.quantity
    ]
    if not matching:
        raise FulfillmentError(
            FulfillmentErrorCode.WRONG_ITEM,
            f"Wrong item: {code or 'nothing'} is not in shipment {shipment.number}.",
            scanned=code,
        )
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        quantity = 0
    if quantity <= 0:
        raise FulfillmentError(
            FulfillmentErrorCode.INVALID_QUANTITY, "The quantity must be a positive number."
        )
    open_lines = [line for line in matching if _packable(line, shipment.state)]
    if not open_lines:
        raise FulfillmentConflict(
            FulfillmentErrorCode.ALREADY_PACKED,
            f"Already packed: every picked unit of {code} is in the box.",
            scanned=code,
        )
    available = sum(_packable(line, shipment.state) for line in open_lines)
    if quantity > available:
        raise FulfillmentError(
            FulfillmentErrorCode.TOO_MANY,
            f"Only {available} unit(s) of {code} are left to pack.",
            scanned=code,
            remaining=available,
        )
    left = quantity
    for line in open_lines:
        take = min(left, _packable(line, shipment.state))
        line.quantity_packed += take
        left -= take
        if not left:
            break
    ShipmentLine.objects.for_tenant(tenant).bulk_update(open_lines, ["quantity_packed"])
    open_lines[0].shipment = shipment
    return open_lines[0]


def _parcel_default(lines: list[ShipmentLine]) -> dict[str, int]:
    """One box from the SKUs' data: their weights added, the longest length and width, the heights stacked."""
    units = [(line.sku, line.quantity) for line in lines if line.quantity]
    return {
        "weight_grams": sum(sku.weight_grams * qty for sku, qty in units),
        "length_mm": max((sku.length_mm for sku, _ in units), default=0),
        "width_mm": max((sku.width_mm for sku, _ in units), default=0),
        "height_mm": sum(sku.height_mm * qty for sku, qty in units),
    }


def _parcels_checked(parcels: list[dict[str, Any]]) -> list[dict[str, int]]:
    if not parcels:
        raise FulfillmentError(FulfillmentErrorCode.INVALID_PARCEL, "A shipment needs at least one parcel.")
    checked = []
    for index, parcel in enumerate(parcels):
        row = {}
        for name in PARCEL_FIELDS:
            try:
                row[name] = int(parcel.get(name) or 0)
            except (TypeError, ValueError):
                row[name] = -1
            if row[name] < 0 or row[name] > 10_000_000:
                raise FulfillmentError(
                    FulfillmentErrorCode.INVALID_PARCEL,
                    f"Parcel {index + 1}: {name} is not a size.",
                    field=name,
                )
        if row["weight_grams"] <= 0:
            raise FulfillmentError(
                FulfillmentErrorCode.INVALID_PARCEL,
                f"Parcel {index + 1} has no weight: weigh it (the SKUs' weights are not known).",
                field="weight_grams",
            )
        checked.append(row)
    return checked


@transaction.atomic
def shipment_pack(
    *,
    tenant: Any,
    shipment_id: int,
    parcels: list[dict[str, Any]] | None = None,
    packed_quantities: dict[int, int] | None = None,
    actor: Any = None,
) -> Shipment:
    """Close the box: every picked unit confirmed packed (by `pack_scan`, or `packed_quantities`:
    shipment line id -> units in the box), the parcels recorded (by default one, from the SKUs'
    weights and dimensions), picking (or pending, picked at the bench) -> packed. A packed shipment
    gets its parcels replaced. Raises Shipment.DoesNotExist for another tenant's id, `not_picked` /
    `not_packed` (409) with the lines that are short, `invalid_parcel` (422), `illegal_transition`
    (409) once a label is bought."""
    given = _parcels_checked(parcels) if parcels is not None else None
    shipment, lines = _locked(tenant, shipment_id)
    if shipment.state not in (S.PENDING, S.PICKING, S.PACKED):
        raise FulfillmentConflict(
            FulfillmentErrorCode.ILLEGAL_TRANSITION,
            f"Shipment {shipment.number} is {shipment.state}; it can no longer be packed.",
            state=shipment.state,
        )
    if shipment.state != S.PACKED:
        by_id = {line.pk: line for line in lines}
        for line_id, units in (packed_quantities or {}).items():
            line = by_id.get(int(line_id))
            if line is None:
                raise ShipmentLine.DoesNotExist(f"Line {line_id} is not in shipment {shipment.number}")
            line.quantity_packed = int(units)
        if shipment.state == S.PICKING:
            unpicked = [line.sku.code for line in lines if line.to_pick]
            if unpicked:
                raise FulfillmentConflict(
                    FulfillmentErrorCode.NOT_PICKED,
                    f"Not picked yet: {', '.join(unpicked)}. Pick them or mark them short.",
                    skus=unpicked,
                )
        ready = {
            line.pk: (line.quantity if shipment.state == S.PENDING else line.quantity_picked)
            for line in lines
        }
        wrong = [line.sku.code for line in lines if line.quantity_packed != ready[line.pk]]
        if wrong:
            raise FulfillmentConflict(
                FulfillmentErrorCode.NOT_PACKED,
                f"Not confirmed in the box: {', '.join(wrong)}. Scan every picked unit.",
                skus=wrong,
            )
        if not any(line.quantity for line in lines):
            raise FulfillmentConflict(
                FulfillmentErrorCode.NOT_PACKED, f"Shipment {shipment.number} is empty."
            )
    boxes = given if given is not None else _parcels_checked([_parcel_default(lines)])
    Parcel.objects.for_tenant(tenant).filter(shipment=shipment).delete()
    Parcel.objects.bulk_create(
        Parcel(tenant_id=shipment.tenant_id, shipment=shipment, **box) for box in boxes
    )
    before = shipment.state
    if shipment.state != S.PACKED:
        for line in lines:
            line.quantity_picked = line.quantity_packed
        ShipmentLine.objects.for_tenant(tenant).bulk_update(lines, ["quantity_picked", "quantity_packed"])
        shipment.pack()
        shipment.packed_at = timezone.now()
        shipment.save(update_fields=["state", "packed_at", "updated_at"])
        pick_list_refresh(tenant=tenant, pick_list_id=shipment.pick_list_id)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="shipment.packed",
        obj=shipment,
        before={"state": before},
        after={"state": shipment.state, "parcels": boxes},
    )
    return shipment
