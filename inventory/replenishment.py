"""Replenishment signals: what to reorder, and what to move between warehouses instead.

Per SKU and warehouse:
* velocity: units shipped per day over a trailing window (from shipment ledger rows);
* days of cover: available / velocity;
* position: available + incoming (open purchase orders and transfers in transit);
* reorder only where there is demand (units shipped in the window): when the position
  will not last the lead time plus safety stock (position < velocity × lead time + safety
  stock), or is at or below the reorder point; suggest enough to cover lead time +
  `target_days` plus safety stock. A row at its reorder point that sold nothing is listed
  apart (`idle_low`), never suggested: stock that does not move needs no more of it.
* transfer instead when another warehouse holds the same SKU far beyond its own needs
  (more than `surplus_days` of cover, or stock that does not move at all above its
  reorder point): nearest donor first.
* every suggestion says why, in words (`reason`).

Reads only; three queries whatever the catalogue size.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Sum
from django.utils import timezone

from inventory.geo import haversine_km
from inventory.models import OPEN_INBOUND_STATES, InboundLine, MovementReason, StockLevel, StockMovement

DEFAULT_WINDOW_DAYS = 28
DEFAULT_TARGET_DAYS = 30
DEFAULT_SURPLUS_DAYS = 60


@dataclass(frozen=True)
class StockSignal:
    sku_id: int
    sku: str
    sku_name: str
    warehouse_id: int
    warehouse: str
    on_hand: int
    available: int
    incoming: int
    shipped: int  # units shipped in the window
    velocity_per_day: float
    days_of_cover: float | None  # None: nothing ships, cover is unbounded
    lead_time_days: int
    safety_stock: int
    reorder_point: int
    needs_reorder: bool
    reorder_quantity: int
    surplus: int  # units this warehouse could give away
    reason: str = ""  # why it is suggested, for the merchant
    below_point: bool = False  # at or below its reorder point (with or without sales)

    @property
    def position(self) -> int:
        return self.available + self.incoming


@dataclass(frozen=True)
class TransferSuggestion:
    sku_id: int
    sku: str
    from_warehouse: str
    to_warehouse: str
    quantity: int
    distance_km: float | None
    reason: str
    from_warehouse_id: int = 0
    to_warehouse_id: int = 0


@dataclass
class ReplenishmentReport:
    window_days: int
    signals: list[StockSignal] = field(default_factory=list)
    transfers: list[TransferSuggestion] = field(default_factory=list)

    @property
    def reorders(self) -> list[StockSignal]:
        return [s for s in self.signals if s.needs_reorder and s.reorder_quantity > 0]

    @property
    def idle_low(self) -> list[StockSignal]:
        """At or below the reorder point, but nothing sold in the window: not suggested."""
        return [s for s in self.signals if s.below_point and s.shipped <= 0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "window_days": self.window_days,
            "reorders": [asdict(s) for s in self.reorders],
            "transfers": [asdict(t) for t in self.transfers],
        }


def _signal(
    level: StockLevel, *, shipped: int, incoming: int, window_days: int, target_days: int, surplus_days: int
) -> StockSignal:
    velocity = shipped / window_days if window_days else 0.0
    available = level.available
    lead = level.sku.lead_time_days or level.warehouse.default_lead_time_days
    position = available + incoming
    cover = None if velocity <= 0 else round(available / velocity, 1)
    below_point = level.reorder_point > 0 and position <= level.reorder_point
    short_for_lead = velocity > 0 and position < velocity * lead + level.safety_stock
    needs = velocity > 0 and (below_point or short_for_lead)
    quantity = 0
    reason = ""
    if needs:
        target = max(math.ceil(velocity * (lead + target_days)) + level.safety_stock, level.reorder_point + 1)
        quantity = max(0, target - position)
        lasts = f"lasts {cover:g} days" if cover is not None else "lasts no time"
        why = (
            f"less than the {lead}-day lead time plus safety stock {level.safety_stock}"
            if short_for_lead
            else f"at or below the reorder point {level.reorder_point}"
        )
        reason = (
            f"Sold {shipped} in {window_days} days ({velocity:.2g}/day). {available} available and "
            f"{incoming} incoming: {lasts}, {why}. {quantity} more cover the lead time plus "
            f"{target_days} days."
        )
    keep = max(math.ceil(velocity * surplus_days), level.reorder_point + level.safety_stock)
    surplus = max(0, available - keep) if not needs else 0
    return StockSignal(
        sku_id=level.sku_id,
        sku=level.sku.code,
        sku_name=level.sku.name,
        warehouse_id=level.warehouse_id,
        warehouse=level.warehouse.code,
        on_hand=level.on_hand,
        available=available,
        incoming=incoming,
        shipped=shipped,
        velocity_per_day=round(velocity, 3),
        days_of_cover=cover,
        lead_time_days=lead,
        safety_stock=level.safety_stock,
        reorder_point=level.reorder_point,
        needs_reorder=needs,
        reorder_quantity=quantity,
        surplus=surplus,
        reason=reason,
        below_point=below_point,
    )


def replenishment_report(
    *,
    tenant: Any,
    window_days: int = DEFAULT_WINDOW_DAYS,
    target_days: int = DEFAULT_TARGET_DAYS,
    surplus_days: int = DEFAULT_SURPLUS_DAYS,
    sku_id: int | None = None,
    warehouse_id: int | None = None,
    now: datetime | None = None,
) -> ReplenishmentReport:
    """Reorder and transfer suggestions for the tenant's active SKUs in active warehouses."""
    now = now or timezone.now()
    since = now - timedelta(days=window_days)
    levels_qs = (
        StockLevel.objects.for_tenant(tenant)
        .filter(sku__active=True, warehouse__active=True)
        .select_related("sku", "warehouse")
        .order_by("sku__code", "warehouse__code")
    )
    if sku_id is not None:
        levels_qs = levels_qs.filter(sku_id=sku_id)
    levels = list(levels_qs)
    shipped = {
        row["stock_level_id"]: -(row["units"] or 0)
        for row in StockMovement.objects.for_tenant(tenant)
        .filter(reason=MovementReason.SHIPMENT, created_at__gte=since, created_at__lte=now)
        .values("stock_level_id")
        .annotate(units=Sum("delta"))
    }
    incoming: dict[tuple[int, int], int] = {
        (row["sku_id"], row["shipment__warehouse_id"]): row["units"] or 0
        for row in InboundLine.objects.for_tenant(tenant)
        .filter(shipment__state__in=OPEN_INBOUND_STATES)
        .values("sku_id", "shipment__warehouse_id")
        .annotate(units=Sum(F("quantity_expected") - F("quantity_received")))
    }
    signals = [
        _signal(
            level,
            shipped=shipped.get(level.pk, 0),
            incoming=incoming.get((level.sku_id, level.warehouse_id), 0),
            window_days=window_days,
            target_days=target_days,
            surplus_days=surplus_days,
        )
        for level in levels
    ]
    warehouses = {level.warehouse_id: level.warehouse for level in levels}
    signals, transfers = _suggest_transfers(signals, warehouses, window_days)
    if warehouse_id is not None:
        signals = [s for s in signals if s.warehouse_id == warehouse_id]
        code = warehouses[warehouse_id].code if warehouse_id in warehouses else None
        transfers = [t for t in transfers if code in (t.from_warehouse, t.to_warehouse)]
    return ReplenishmentReport(window_days=window_days, signals=signals, transfers=transfers)


def _distance(a: Any, b: Any) -> float | None:
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    return round(
        haversine_km((float(a.latitude), float(a.longitude)), (float(b.latitude), float(b.longitude))), 1
    )


def _suggest_transfers(
    signals: list[StockSignal], warehouses: dict[int, Any], window_days: int = DEFAULT_WINDOW_DAYS
) -> tuple[list[StockSignal], list[TransferSuggestion]]:
    """Cover reorders from other warehouses' surplus first; what a transfer covers is not reordered."""
    by_sku: dict[int, list[int]] = defaultdict(list)
    for index, sig in enumerate(signals):
        by_sku[sig.sku_id].append(index)
    surplus = {index: sig.surplus for index, sig in enumerate(signals)}
    transfers: list[TransferSuggestion] = []
    for indexes in by_sku.values():
        for needy in indexes:
            sig = signals[needy]
            if not sig.needs_reorder or sig.reorder_quantity <= 0:
                continue
            to_wh = warehouses[sig.warehouse_id]
            donors = sorted(
                (i for i in indexes if i != needy and surplus[i] > 0),
                key=lambda i: (
                    _distance(warehouses[signals[i].warehouse_id], to_wh) or math.inf,
                    signals[i].warehouse,
                ),
            )
            need = sig.reorder_quantity
            for donor in donors:
                if need <= 0:
                    break
                qty = min(need, surplus[donor])
                surplus[donor] -= qty
                need -= qty
                src = signals[donor]
                cover = (
                    f"sold nothing in {window_days} days"
                    if src.days_of_cover is None
                    else f"{src.days_of_cover:g} days of cover"
                )
                transfers.append(
                    TransferSuggestion(
                        sku_id=sig.sku_id,
                        sku=sig.sku,
                        from_warehouse=src.warehouse,
                        to_warehouse=sig.warehouse,
                        quantity=qty,
                        distance_km=_distance(warehouses[src.warehouse_id], to_wh),
                        reason=(
                            f"{sig.warehouse} sold {sig.shipped} in {window_days} days "
                            f"({sig.velocity_per_day:g}/day) and has {sig.position} available and "
                            f"incoming, short for its {sig.lead_time_days}-day lead time; "
                            f"{src.warehouse} has {src.available} available ({cover})."
                        ),
                        from_warehouse_id=src.warehouse_id,
                        to_warehouse_id=sig.warehouse_id,
                    )
                )
            reason = sig.reason
            if 0 < need < sig.reorder_quantity:
                reason += f" Transfers cover {sig.reorder_quantity - need}; order the other {need}."
            signals[needy] = replace(sig, reorder_quantity=need, reason=reason)
    return signals, transfers
