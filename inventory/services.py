"""Writes on SKUs, warehouses, stock, inbound shipments and reservations.

Every change of on_hand goes through `_move`, which writes the StockMovement ledger row
beside it, so on_hand can always be rebuilt from the ledger (`manage.py reconcile_stock`).
Manual changes (adjustments, counts, transfers, edits of SKUs and warehouses) also leave
an audit event. Units that may have become available are announced after commit with
`inventory.signals.stock_became_available`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from inventory import locks
from inventory.allocation import (
    AllocationPolicy,
    DemandLine,
    ShipTo,
    _plan_with_session,
    _StockSession,
    _validated_lines,
)
from inventory.errors import InventoryError, InventoryErrorCode
from inventory.geo import geocode
from inventory.models import (
    OPEN_INBOUND_STATES,
    SKU,
    InboundKind,
    InboundLine,
    InboundShipment,
    InboundState,
    MovementReason,
    Reservation,
    ReservationLine,
    ReservationState,
    StockLevel,
    StockMovement,
    Warehouse,
)
from inventory.signals import send_stock_became_available_on_commit
from oms.core.audit import actor_of, audit_record

ADJUSTMENT_REASONS = (
    MovementReason.RECEIPT,
    MovementReason.ADJUSTMENT,
    MovementReason.COUNT,
    MovementReason.DAMAGE,
)
DEFAULT_RESERVATION_TTL = 900
MAX_RESERVATION_TTL = 7 * 24 * 3600


def _actor_label(actor: Any) -> str:
    return actor_of(actor)[1][:200]


def _stock_snapshot(level: StockLevel) -> dict[str, int]:
    return {"on_hand": level.on_hand, "allocated": level.allocated, "reserved": level.reserved}


# The stock row's integer columns (PostgreSQL `integer`): past this a write would fail in the database.
MAX_ON_HAND = 2**31 - 1


def _move(
    *,
    level: StockLevel,
    delta: int,
    reason: str,
    reference: str = "",
    actor: Any = None,
    also_save: tuple[str, ...] = (),
) -> StockMovement:
    """Change on_hand of a locked row and write its ledger row. The only writer of on_hand."""
    if level.on_hand + delta > MAX_ON_HAND:
        raise InventoryError(
            InventoryErrorCode.QUANTITY_TOO_LARGE,
            f"That would leave {level.on_hand + delta} on hand; a stock row holds at most {MAX_ON_HAND}.",
            on_hand=level.on_hand,
            delta=delta,
        )
    committed = level.allocated + level.reserved
    if level.on_hand + delta < committed:
        raise InventoryError(
            InventoryErrorCode.BELOW_COMMITTED,
            f"That would leave {level.on_hand + delta} on hand, below the {committed} allocated or reserved.",
            on_hand=level.on_hand,
            allocated=level.allocated,
            reserved=level.reserved,
            delta=delta,
        )
    level.on_hand += delta
    level.save(update_fields=["on_hand", "updated_at", *also_save])
    return StockMovement.objects.create(
        tenant_id=level.tenant_id,
        stock_level=level,
        sku_id=level.sku_id,
        warehouse_id=level.warehouse_id,
        delta=delta,
        on_hand_after=level.on_hand,
        reason=reason,
        reference=reference[:200],
        actor=_actor_label(actor),
    )


def _positive(quantity: int, what: str = "quantity") -> None:
    if quantity is None or int(quantity) <= 0:
        raise InventoryError(InventoryErrorCode.INVALID_QUANTITY, f"The {what} must be positive.")


def _level(*, tenant: Any, sku_id: int, warehouse_id: int) -> StockLevel:
    """The stock row of one SKU in one warehouse, created at zero if missing, locked."""
    return locks.stock_lock(tenant=tenant, pairs=[(sku_id, warehouse_id)], create=True).at(
        sku_id, warehouse_id
    )


# --- warehouses and SKUs -----------------------------------------------------------------
WAREHOUSE_FIELDS = (
    "name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "latitude",
    "longitude",
    "priority",
    "active",
    "ships_to",
    "cutoff_time",
    "default_lead_time_days",
)
ADDRESS_FIELDS = ("line1", "line2", "city", "region", "postal_code", "country")
# What staff plan on a stock row; its quantities change only through the services below.
STOCK_PLANNING_FIELDS = ("reorder_point", "safety_stock", "bin_location")


def _fill_coordinates(warehouse: Warehouse) -> None:
    found = geocode(warehouse.country, warehouse.postal_code, warehouse.city)
    if found is None:
        warehouse.latitude = warehouse.longitude = None
    else:
        warehouse.latitude = Decimal(f"{found[0]:.6f}")
        warehouse.longitude = Decimal(f"{found[1]:.6f}")


def _normalise_ships_to(value: Iterable[str] | None) -> list[str]:
    return sorted({str(code).strip().upper() for code in (value or []) if str(code).strip()})


def _snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


@transaction.atomic
def warehouse_create(*, tenant: Any, actor: Any = None, code: str, name: str, **fields: Any) -> Warehouse:
    """A warehouse; latitude/longitude come from the postal code when not given."""
    unknown = set(fields) - set(WAREHOUSE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown warehouse fields: {sorted(unknown)}")
    if Warehouse.objects.for_tenant(tenant).filter(code=code).exists():
        raise InventoryError(
            InventoryErrorCode.DUPLICATE_CODE,
            f"Warehouse {code!r} already exists.",
            status=409,
            existing=code,
        )
    warehouse = Warehouse(tenant=tenant, code=code, name=name, **fields)
    warehouse.country = (warehouse.country or "US").upper()
    warehouse.ships_to = _normalise_ships_to(warehouse.ships_to)
    if warehouse.latitude is None or warehouse.longitude is None:
        _fill_coordinates(warehouse)
    warehouse.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="warehouse.created",
        obj=warehouse,
        after=_snapshot(warehouse, ("code", *WAREHOUSE_FIELDS)),
    )
    return warehouse


@transaction.atomic
def warehouse_update(*, tenant: Any, warehouse_id: int, actor: Any = None, **changes: Any) -> Warehouse:
    """Change a warehouse. A new address without coordinates re-fills them from the postal code."""
    unknown = set(changes) - set(WAREHOUSE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown warehouse fields: {sorted(unknown)}")
    warehouse = locks.warehouse_for_update(tenant=tenant, pk=warehouse_id)
    before = _snapshot(warehouse, WAREHOUSE_FIELDS)
    for name, value in changes.items():
        setattr(warehouse, name, value)
    warehouse.country = (warehouse.country or "US").upper()
    warehouse.ships_to = _normalise_ships_to(warehouse.ships_to)
    address_changed = any(name in changes and before[name] != changes[name] for name in ADDRESS_FIELDS)
    coordinates_given = "latitude" in changes or "longitude" in changes
    if (
        (address_changed and not coordinates_given)
        or warehouse.latitude is None
        or warehouse.longitude is None
    ):
        _fill_coordinates(warehouse)
    warehouse.save()
    after = _snapshot(warehouse, WAREHOUSE_FIELDS)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="warehouse.updated",
        obj=warehouse,
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
    )
    return warehouse


SKU_FIELDS = (
    "name",
    "barcode",
    "weight_grams",
    "length_mm",
    "width_mm",
    "height_mm",
    "hs_code",
    "country_of_origin",
    "price",
    "returnable",
    "active",
    "lead_time_days",
)


@transaction.atomic
def sku_create(*, tenant: Any, actor: Any = None, code: str, name: str, **fields: Any) -> SKU:
    unknown = set(fields) - set(SKU_FIELDS)
    if unknown:
        raise TypeError(f"Unknown SKU fields: {sorted(unknown)}")
    if SKU.objects.for_tenant(tenant).filter(code=code).exists():
        raise InventoryError(
            InventoryErrorCode.DUPLICATE_CODE, f"SKU {code!r} already exists.", status=409, existing=code
        )
    sku = SKU.objects.create(tenant=tenant, code=code, name=name, **fields)
    audit_record(
        tenant=tenant, actor=actor, action="sku.created", obj=sku, after=_snapshot(sku, ("code", *SKU_FIELDS))
    )
    return sku


@transaction.atomic
def sku_update(*, tenant: Any, sku_id: int, actor: Any = None, **changes: Any) -> SKU:
    unknown = set(changes) - set(SKU_FIELDS)
    if unknown:
        raise TypeError(f"Unknown SKU fields: {sorted(unknown)}")
    sku = locks.sku_for_update(tenant=tenant, pk=sku_id)
    before = _snapshot(sku, SKU_FIELDS)
    for name, value in changes.items():
        setattr(sku, name, value)
    sku.save()
    after = _snapshot(sku, SKU_FIELDS)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="sku.updated",
        obj=sku,
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
    )
    return sku


# --- stock --------------------------------------------------------------------------------
@transaction.atomic
def stock_receive(
    *,
    tenant: Any,
    sku_id: int,
    warehouse_id: int,
    quantity: int,
    reference: str = "",
    actor: Any = None,
    reason: str = MovementReason.RECEIPT,
) -> StockLevel:
    """Units arrived at a warehouse (a delivery, a transfer in)."""
    _positive(quantity)
    level = _level(tenant=tenant, sku_id=sku_id, warehouse_id=warehouse_id)
    _move(level=level, delta=quantity, reason=reason, reference=reference, actor=actor)
    send_stock_became_available_on_commit(tenant_id=tenant.pk, sku_ids=[sku_id])
    return level


@transaction.atomic
def stock_adjust(
    *,
    tenant: Any,
    sku_id: int,
    warehouse_id: int,
    delta: int | None = None,
    on_hand: int | None = None,
    reason: str = MovementReason.ADJUSTMENT,
    reference: str = "",
    actor: Any = None,
) -> StockLevel:
    """A manual change, by `delta` or to an absolute `on_hand`. Never below allocated + reserved."""
    if (delta is None) == (on_hand is None):
        raise InventoryError(InventoryErrorCode.INVALID_ADJUSTMENT, "Give exactly one of delta or on_hand.")
    if reason not in ADJUSTMENT_REASONS:
        raise InventoryError(
            InventoryErrorCode.INVALID_ADJUSTMENT, f"Reason must be one of {', '.join(ADJUSTMENT_REASONS)}."
        )
    if reason == MovementReason.COUNT and on_hand is not None:
        return stock_count(
            tenant=tenant,
            sku_id=sku_id,
            warehouse_id=warehouse_id,
            counted=on_hand,
            reference=reference,
            actor=actor,
        )
    level = _level(tenant=tenant, sku_id=sku_id, warehouse_id=warehouse_id)
    if on_hand is not None:
        if on_hand < 0:
            raise InventoryError(InventoryErrorCode.INVALID_QUANTITY, "on_hand cannot be negative.")
        delta = on_hand - level.on_hand
    delta = int(delta or 0)
    if reason == MovementReason.DAMAGE and delta > 0:
        raise InventoryError(InventoryErrorCode.INVALID_ADJUSTMENT, "Damage can only take stock away.")
    if reason == MovementReason.RECEIPT and delta < 0:
        raise InventoryError(InventoryErrorCode.INVALID_ADJUSTMENT, "A receipt can only add stock.")
    if delta == 0:
        return level
    before = _stock_snapshot(level)
    _move(level=level, delta=delta, reason=reason, reference=reference, actor=actor)
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"stock.{reason}",
        obj=level,
        before=before,
        after={**_stock_snapshot(level), "reference": reference},
    )
    if delta > 0:
        send_stock_became_available_on_commit(tenant_id=tenant.pk, sku_ids=[sku_id])
    return level


@transaction.atomic
def stock_count(
    *, tenant: Any, sku_id: int, warehouse_id: int, counted: int, reference: str = "", actor: Any = None
) -> StockLevel:
    """A cycle count: on_hand becomes what was counted; the ledger records the difference."""
    if counted is None or counted < 0:
        raise InventoryError(InventoryErrorCode.INVALID_QUANTITY, "A count cannot be negative.")
    level = _level(tenant=tenant, sku_id=sku_id, warehouse_id=warehouse_id)
    before = _stock_snapshot(level)
    delta = counted - level.on_hand
    _move(level=level, delta=delta, reason=MovementReason.COUNT, reference=reference, actor=actor)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="stock.count",
        obj=level,
        before=before,
        after={**_stock_snapshot(level), "difference": delta, "reference": reference},
    )
    if delta > 0:
        send_stock_became_available_on_commit(tenant_id=tenant.pk, sku_ids=[sku_id])
    return level


@transaction.atomic
def stock_transfer(
    *,
    tenant: Any,
    sku_id: int,
    from_warehouse_id: int,
    to_warehouse_id: int,
    quantity: int,
    reference: str = "",
    actor: Any = None,
    in_transit: bool = False,
    expected_at: date | None = None,
) -> tuple[StockLevel, StockLevel | InboundShipment]:
    """Move units between warehouses.

    Immediate: transfer_out and transfer_in ledger rows now. In transit: transfer_out now and an
    InboundShipment of kind transfer, whose receipt (`inbound_receive`) writes the transfer_in.
    """
    _positive(quantity)
    if from_warehouse_id == to_warehouse_id:
        raise InventoryError(InventoryErrorCode.SAME_WAREHOUSE, "Source and destination are the same.")
    levels = locks.stock_lock(
        tenant=tenant, pairs=[(sku_id, from_warehouse_id), (sku_id, to_warehouse_id)], create=True
    )
    source, dest = levels.at(sku_id, from_warehouse_id), levels.at(sku_id, to_warehouse_id)
    sku, source_wh, dest_wh = source.sku, source.warehouse, dest.warehouse
    if source.available < quantity:
        raise InventoryError(
            InventoryErrorCode.INSUFFICIENT_STOCK,
            f"{source_wh.code} has {source.available} available, not {quantity}.",
            available=source.available,
        )
    before = {"from": _stock_snapshot(source), "to": _stock_snapshot(dest)}
    reference = reference or f"transfer {source_wh.code}->{dest_wh.code}"
    _move(level=source, delta=-quantity, reason=MovementReason.TRANSFER_OUT, reference=reference, actor=actor)
    result: StockLevel | InboundShipment
    if in_transit:
        shipment = InboundShipment.objects.create(
            tenant=tenant,
            kind=InboundKind.TRANSFER,
            state=InboundState.IN_TRANSIT,
            warehouse=dest_wh,
            source_warehouse=source_wh,
            reference=reference,
            expected_at=expected_at,
        )
        InboundLine.objects.create(tenant=tenant, shipment=shipment, sku=sku, quantity_expected=quantity)
        result = shipment
    else:
        _move(level=dest, delta=quantity, reason=MovementReason.TRANSFER_IN, reference=reference, actor=actor)
        send_stock_became_available_on_commit(tenant_id=tenant.pk, sku_ids=[sku_id])
        result = dest
    audit_record(
        tenant=tenant,
        actor=actor,
        action="stock.transfer",
        obj=source,
        before=before,
        after={
            "from": _stock_snapshot(source),
            "to": _stock_snapshot(dest),
            "quantity": quantity,
            "in_transit": in_transit,
            "reference": reference,
        },
    )
    return source, result


@transaction.atomic
def stock_ship(
    *, tenant: Any, picks: list[tuple[int, int]], reference: str = "", actor: Any = None
) -> list[StockLevel]:
    """A pick left the building: on_hand and allocated go down together. (stock_level_id, quantity)."""
    wanted: dict[int, int] = {}
    for level_pk, quantity in picks:
        _positive(quantity)
        wanted[level_pk] = wanted.get(level_pk, 0) + quantity
    levels = locks.stock_lock(tenant=tenant, pks=wanted)
    missing = set(wanted) - set(levels)
    if missing:
        raise StockLevel.DoesNotExist(f"Stock levels {sorted(missing)} not found")
    for level_pk, quantity in wanted.items():
        if levels[level_pk].allocated < quantity:
            raise InventoryError(
                InventoryErrorCode.NOT_ALLOCATED,
                "Only allocated units can ship.",
                status=409,
                stock_level_id=level_pk,
                allocated=levels[level_pk].allocated,
                quantity=quantity,
            )
    for level_pk in sorted(wanted):
        level, quantity = levels[level_pk], wanted[level_pk]
        level.allocated -= quantity
        _move(
            level=level,
            delta=-quantity,
            reason=MovementReason.SHIPMENT,
            reference=reference,
            actor=actor,
            also_save=("allocated",),
        )
    return [levels[pk] for pk in sorted(wanted)]


@transaction.atomic
def stock_restock(
    *, tenant: Any, sku_id: int, warehouse_id: int, quantity: int, reference: str = "", actor: Any = None
) -> StockLevel:
    """Returned units go back on the shelf."""
    return stock_receive(
        tenant=tenant,
        sku_id=sku_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        reference=reference,
        actor=actor,
        reason=MovementReason.RETURN_RESTOCK,
    )


# --- inbound: purchase orders and transfers in transit -------------------------------------
@transaction.atomic
def inbound_create(
    *,
    tenant: Any,
    warehouse_id: int,
    lines: Iterable[tuple[int, int]],
    expected_at: date | None = None,
    reference: str = "",
    supplier: str = "",
    actor: Any = None,
) -> InboundShipment:
    """A purchase order expected at a warehouse: lines of (sku_id, quantity)."""
    warehouse = Warehouse.objects.for_tenant(tenant).get(pk=warehouse_id)
    merged: dict[int, int] = {}
    for sku_id, quantity in lines:
        _positive(quantity)
        merged[sku_id] = merged.get(sku_id, 0) + quantity
    if not merged:
        raise InventoryError(InventoryErrorCode.INVALID_QUANTITY, "An inbound shipment needs lines.")
    skus = {sku.pk: sku for sku in SKU.objects.for_tenant(tenant).filter(pk__in=merged)}
    if set(skus) != set(merged):
        raise SKU.DoesNotExist("Unknown SKU")
    shipment = InboundShipment.objects.create(
        tenant=tenant,
        kind=InboundKind.PURCHASE_ORDER,
        warehouse=warehouse,
        expected_at=expected_at,
        reference=reference,
        supplier=supplier,
    )
    InboundLine.objects.bulk_create(
        [
            InboundLine(tenant=tenant, shipment=shipment, sku=skus[sku_id], quantity_expected=qty)
            for sku_id, qty in sorted(merged.items())
        ]
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="inbound.created",
        obj=shipment,
        after={
            "warehouse": warehouse.code,
            "lines": merged,
            "expected_at": expected_at,
            "reference": reference,
        },
    )
    return shipment


@transaction.atomic
def inbound_receive(
    *, tenant: Any, shipment_id: int, quantities: dict[int, int] | None = None, actor: Any = None
) -> InboundShipment:
    """Receive an inbound shipment: everything outstanding, or {sku_id: quantity} of it.

    Each received line is a stock receipt (a transfer_in for transfers): ledger row, signal.
    """
    shipment = locks.inbound_shipment_for_update(tenant=tenant, pk=shipment_id)
    if shipment.state not in OPEN_INBOUND_STATES:
        raise InventoryError(
            InventoryErrorCode.INBOUND_CLOSED, f"This shipment is {shipment.state}.", status=409
        )
    lines = {line.sku_id: line for line in shipment.lines.all()}
    if quantities is None:
        quantities = {sku_id: line.quantity_outstanding for sku_id, line in lines.items()}
    unknown = set(quantities) - set(lines)
    if unknown:
        raise InventoryError(
            InventoryErrorCode.INVALID_QUANTITY,
            "These SKUs are not on the shipment.",
            sku_ids=sorted(unknown),
        )
    receiving = {sku_id: quantity for sku_id, quantity in sorted(quantities.items()) if quantity != 0}
    for sku_id, quantity in receiving.items():
        _positive(quantity)
        if quantity > lines[sku_id].quantity_outstanding:
            raise InventoryError(
                InventoryErrorCode.OVER_RECEIPT,
                f"Only {lines[sku_id].quantity_outstanding} of this SKU are outstanding.",
                sku_id=sku_id,
            )
    reason = MovementReason.TRANSFER_IN if shipment.kind == InboundKind.TRANSFER else MovementReason.RECEIPT
    reference = shipment.reference or f"inbound {shipment.pk}"
    levels = locks.stock_lock(
        tenant=tenant, pairs=[(sku_id, shipment.warehouse_id) for sku_id in receiving], create=True
    )
    for sku_id, quantity in receiving.items():
        level = levels.at(sku_id, shipment.warehouse_id)
        _move(level=level, delta=quantity, reason=reason, reference=reference, actor=actor)
        line = lines[sku_id]
        line.quantity_received += quantity
        line.save(update_fields=["quantity_received"])
    send_stock_became_available_on_commit(tenant_id=tenant.pk, sku_ids=receiving)
    done = all(line.quantity_outstanding == 0 for line in lines.values())
    shipment.state = InboundState.RECEIVED if done else InboundState.PARTIALLY_RECEIVED
    if done:
        shipment.received_at = timezone.now()
    shipment.save(update_fields=["state", "received_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="inbound.received",
        obj=shipment,
        after={"received": quantities, "state": shipment.state},
    )
    return shipment


@transaction.atomic
def inbound_cancel(*, tenant: Any, shipment_id: int, actor: Any = None) -> InboundShipment:
    """Cancel what is still outstanding. A transfer's outstanding units go back to the source."""
    shipment = locks.inbound_shipment_for_update(tenant=tenant, pk=shipment_id)
    if shipment.state not in OPEN_INBOUND_STATES:
        raise InventoryError(
            InventoryErrorCode.INBOUND_CLOSED, f"This shipment is {shipment.state}.", status=409
        )
    if shipment.kind == InboundKind.TRANSFER and shipment.source_warehouse_id:
        source_id = shipment.source_warehouse_id
        returning = {line.sku_id: line.quantity_outstanding for line in shipment.lines.order_by("sku_id")}
        returning = {sku_id: quantity for sku_id, quantity in returning.items() if quantity}
        levels = locks.stock_lock(
            tenant=tenant, pairs=[(sku_id, source_id) for sku_id in returning], create=True
        )
        for sku_id, quantity in returning.items():
            _move(
                level=levels.at(sku_id, source_id),
                delta=quantity,
                reason=MovementReason.TRANSFER_IN,
                reference=f"cancelled {shipment.reference or shipment.pk}",
                actor=actor,
            )
        send_stock_became_available_on_commit(tenant_id=tenant.pk, sku_ids=returning)
    shipment.state = InboundState.CANCELLED
    shipment.save(update_fields=["state"])
    audit_record(tenant=tenant, actor=actor, action="inbound.cancelled", obj=shipment)
    return shipment


# --- reservations --------------------------------------------------------------------------
@transaction.atomic
def reservation_create(
    *,
    tenant: Any,
    lines: Iterable[tuple[int, int]],
    ship_to: ShipTo,
    ttl_seconds: int = DEFAULT_RESERVATION_TTL,
    reference: str = "",
    actor: Any = None,
) -> Reservation:
    """Hold units for a checkout: (sku_id, quantity) lines, placed by the allocation policy.

    All or nothing: 422 insufficient_stock when the lines cannot all be held.
    """
    if not 1 <= int(ttl_seconds) <= MAX_RESERVATION_TTL:
        raise InventoryError(
            InventoryErrorCode.INVALID_QUANTITY, f"ttl_seconds must be between 1 and {MAX_RESERVATION_TTL}."
        )
    demand = _validated_lines(
        DemandLine(key=str(index), sku_id=sku_id, quantity=qty) for index, (sku_id, qty) in enumerate(lines)
    )
    if not demand:
        raise InventoryError(InventoryErrorCode.INVALID_QUANTITY, "A reservation needs lines.")
    now = timezone.now()
    policy = AllocationPolicy.for_tenant(tenant)
    policy = AllocationPolicy(
        allow_split=policy.allow_split, allow_backorder=False, max_shipments=policy.max_shipments
    )
    session = _StockSession(
        tenant=tenant, sku_ids={line.sku_id for line in demand}, reservation_id=None, lock=True, now=now
    )
    plan = _plan_with_session(session, demand, ship_to, policy, None)
    if not plan.is_complete:
        raise InventoryError(
            InventoryErrorCode.INSUFFICIENT_STOCK,
            "Not enough stock to hold these lines.",
            short={
                str(line.sku_id): plan.backorders[line.key]
                for line in demand
                if plan.backorders.get(line.key)
            },
        )
    reservation = Reservation.objects.create(
        tenant=tenant, expires_at=now + timedelta(seconds=int(ttl_seconds)), reference=reference[:200]
    )
    ReservationLine.objects.bulk_create(
        [
            ReservationLine(
                tenant=tenant,
                reservation=reservation,
                stock_level_id=pick.stock_level_id,
                sku_id=pick.sku_id,
                warehouse_id=pick.warehouse_id,
                quantity=pick.quantity,
            )
            for pick in plan.picks
        ]
    )
    for pick in plan.picks:
        session.change(pick.stock_level_id, reserved=pick.quantity)
    session.write()
    return reservation


def _reservation_release(*, tenant: Any, reservation_id: int, to_state: str, only_if_expired: bool) -> bool:
    lines = list(
        ReservationLine.objects.for_tenant(tenant)
        .filter(reservation_id=reservation_id)
        .values_list("stock_level_id", "sku_id", "quantity")
    )
    levels = locks.stock_lock(tenant=tenant, pks=[row[0] for row in lines])
    found = locks.reservations_for_update(tenant=tenant, pks=[reservation_id])
    if not found:
        raise Reservation.DoesNotExist(f"Reservation {reservation_id} not found")
    reservation = found[0]
    if reservation.state != ReservationState.ACTIVE:
        if reservation.state == ReservationState.CONSUMED and not only_if_expired:
            raise InventoryError(
                InventoryErrorCode.RESERVATION_CONSUMED,
                "This reservation has already become an order.",
                status=409,
            )
        return False
    if only_if_expired and reservation.expires_at > timezone.now():
        return False
    for level_pk, _sku_id, quantity in lines:
        levels[level_pk].reserved -= quantity
    for level in levels.values():
        level.save(update_fields=["reserved", "updated_at"])
    reservation.state = to_state
    reservation.save(update_fields=["state"])
    send_stock_became_available_on_commit(tenant_id=tenant.pk, sku_ids=[row[1] for row in lines])
    return True


@transaction.atomic
def reservation_release(*, tenant: Any, reservation_id: int, actor: Any = None) -> Reservation:
    """Give the held units back (checkout abandoned). Idempotent; 409 once it became an order."""
    released = _reservation_release(
        tenant=tenant,
        reservation_id=reservation_id,
        to_state=ReservationState.RELEASED,
        only_if_expired=False,
    )
    reservation = Reservation.objects.for_tenant(tenant).get(pk=reservation_id)
    if released:
        audit_record(tenant=tenant, actor=actor, action="reservation.released", obj=reservation)
    return reservation


def reservations_expire(*, tenant: Any = None, now: Any = None) -> int:
    """Release every active reservation past its expiry (all tenants when none given).

    Each reservation in its own transaction, so one failure does not hold the others back.
    """
    from oms.models import Tenant

    now = now or timezone.now()
    qs = Reservation.objects.unscoped() if tenant is None else Reservation.objects.for_tenant(tenant)
    due = list(
        qs.filter(state=ReservationState.ACTIVE, expires_at__lte=now)
        .order_by("pk")
        .values_list("pk", "tenant_id")
    )
    tenants = {t.pk: t for t in Tenant.objects.filter(pk__in={tid for _, tid in due})}
    expired = 0
    for reservation_id, tenant_id in due:
        with transaction.atomic():
            if _reservation_release(
                tenant=tenants[tenant_id],
                reservation_id=reservation_id,
                to_state=ReservationState.EXPIRED,
                only_if_expired=True,
            ):
                expired += 1
    return expired


__all__ = [
    "inbound_cancel",
    "inbound_create",
    "inbound_receive",
    "reservation_create",
    "reservation_release",
    "reservations_expire",
    "sku_create",
    "sku_update",
    "stock_adjust",
    "stock_count",
    "stock_receive",
    "stock_restock",
    "stock_ship",
    "stock_transfer",
    "warehouse_create",
    "warehouse_update",
]
