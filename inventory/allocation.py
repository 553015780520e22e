"""The allocation engine: which warehouses ship which units of an order.

Two halves:

* `plan_allocation` is pure policy over plain data (candidate warehouses with their
  available units): no database, deterministic, easy to test and to explain.
* `allocation_plan` (a preview, no locks) and `allocation_apply` (transactional) read the
  StockLevel rows, hand them to the policy and, for apply, write `allocated`.

Policy, in order:
1. one warehouse that can ship every line: nearest to the ship-to first (great-circle
   distance from offline postal-code coordinates), then warehouse priority, then code;
2. else split across the fewest warehouses (greedy set cover: repeatedly the warehouse
   that covers the most remaining units, nearest first on ties), up to max_shipments,
   when the tenant allows split shipments;
3. else allocate what exists (same greedy, one warehouse when splits are off) and
   backorder the rest, when the tenant allows backorders.

Inactive warehouses and warehouses whose `ships_to` excludes the destination country are
not candidates.

Concurrency: apply locks every StockLevel row of the demanded SKUs in pk order with one
`SELECT ... FOR UPDATE` (see locks.py), plans on the locked numbers, and updates only the
rows it picked. On SQLite the IMMEDIATE write transaction serialises writers instead. The
CHECK constraint on_hand >= allocated + reserved is the last line of defence.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from inventory import locks
from inventory.errors import InventoryError, InventoryErrorCode
from inventory.geo import Coordinates, geocode, haversine_km
from inventory.models import Reservation, ReservationLine, ReservationState, StockLevel
from inventory.signals import send_stock_became_available_on_commit, stock_taken
from oms.metrics import allocation_timed

SINGLE_NEAREST = "single_nearest"
SPLIT = "split"
PARTIAL_BACKORDER = "partial_backorder"
BACKORDER = "backorder"


# --- the contract ------------------------------------------------------------------------
@dataclass(frozen=True)
class DemandLine:
    key: str  # the caller's id for the line, e.g. "orderline:42"
    sku_id: int
    quantity: int


@dataclass(frozen=True)
class ShipTo:
    country: str
    postal_code: str = ""
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None

    def coordinates(self) -> Coordinates | None:
        if self.latitude is not None and self.longitude is not None:
            return float(self.latitude), float(self.longitude)
        return geocode(self.country, self.postal_code, self.city)


@dataclass(frozen=True)
class Pick:
    key: str
    sku_id: int
    warehouse_id: int
    stock_level_id: int
    quantity: int


@dataclass
class AllocationPlan:
    strategy: str  # "single_nearest" | "split" | "partial_backorder" | "backorder"
    explanation: str
    picks: list[Pick]
    backorders: dict[str, int]  # key -> quantity not allocated
    # warehouse id -> {"code", "distance_km", "priority"} for the warehouses in the picks
    warehouses: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def is_complete(self) -> bool:
        return not any(self.backorders.values())

    @property
    def allocated_by_key(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for pick in self.picks:
            out[pick.key] += pick.quantity
        return dict(out)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable, for storing on the order and showing in the admin."""
        picks = []
        for pick in self.picks:
            row = asdict(pick)
            info = self.warehouses.get(pick.warehouse_id, {})
            row["warehouse"] = info.get("code", "")
            row["distance_km"] = info.get("distance_km")
            picks.append(row)
        return {
            "strategy": self.strategy,
            "explanation": self.explanation,
            "complete": self.is_complete,
            "picks": picks,
            "backorders": {key: qty for key, qty in self.backorders.items() if qty},
        }


@dataclass(frozen=True)
class AllocationPolicy:
    allow_split: bool = True
    allow_backorder: bool = True
    max_shipments: int = 3
    # Warehouses not to plan from this time (a short pick re-routes the units elsewhere).
    exclude_warehouses: frozenset[int] = frozenset()

    @classmethod
    def for_tenant(cls, tenant: Any) -> AllocationPolicy:
        return cls(
            allow_split=bool(tenant.allow_split_shipments),
            allow_backorder=bool(tenant.allow_backorder),
            max_shipments=max(1, int(tenant.max_shipments_per_order or 1)),
        )


@dataclass(frozen=True)
class CandidateWarehouse:
    """One warehouse as the policy sees it. stock: sku_id -> (stock_level_id, available)."""

    id: int
    code: str
    latitude: float | None
    longitude: float | None
    priority: int = 100
    active: bool = True
    ships_to: tuple[str, ...] = ()
    stock: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    sku_codes: Mapping[int, str] = field(default_factory=dict)  # sku_id -> code, for explanations

    def ships_to_country(self, country: str) -> bool:
        return not self.ships_to or country.upper() in self.ships_to

    def available(self, sku_id: int) -> int:
        entry = self.stock.get(sku_id)
        return max(0, entry[1]) if entry else 0


# --- the policy (pure) -------------------------------------------------------------------
def _fmt_km(km: float | None) -> str:
    return "distance unknown" if km is None else f"{km:,.0f} km"


def _sku_codes(candidates: Sequence[CandidateWarehouse]) -> dict[int, str]:
    codes: dict[int, str] = {}
    for cand in candidates:
        codes.update(cand.sku_codes)
    return codes


def plan_allocation(
    lines: Sequence[DemandLine],
    candidates: Iterable[CandidateWarehouse],
    ship_to: ShipTo,
    policy: AllocationPolicy,
) -> AllocationPlan:
    """Decide where each line ships from. Pure: reads only its arguments."""
    lines = [line for line in lines if line.quantity > 0]
    candidates = list(candidates)
    codes = _sku_codes(candidates)
    country = (ship_to.country or "").upper()
    origin = ship_to.coordinates()
    notes: list[str] = []
    where = " ".join(part for part in (country, ship_to.postal_code, ship_to.city) if part)
    if origin is None:
        notes.append(f"Ship-to {where}: no coordinates known, warehouses ranked by priority.")
    else:
        notes.append(f"Ship-to {where} at ({origin[0]:.2f}, {origin[1]:.2f}).")

    distances: dict[int, float | None] = {}
    eligible: list[CandidateWarehouse] = []
    refused_country: list[str] = []
    for cand in candidates:
        if not cand.active:
            notes.append(f"{cand.code}: not a candidate (inactive).")
            continue
        if cand.id in policy.exclude_warehouses:
            notes.append(f"{cand.code}: not a candidate (excluded this time).")
            continue
        if not cand.ships_to_country(country):
            notes.append(f"{cand.code}: not a candidate (does not ship to {country}).")
            refused_country.append(cand.code)
            continue
        if origin is not None and cand.latitude is not None and cand.longitude is not None:
            distances[cand.id] = haversine_km(origin, (float(cand.latitude), float(cand.longitude)))
        else:
            distances[cand.id] = None
        eligible.append(cand)

    def rank(cand: CandidateWarehouse) -> tuple[float, int, str]:
        km = distances[cand.id]
        return (math.inf if km is None else km, cand.priority, cand.code)

    ranked = sorted(eligible, key=rank)

    def info(cand: CandidateWarehouse) -> dict[str, Any]:
        km = distances[cand.id]
        return {
            "code": cand.code,
            "distance_km": None if km is None else round(km, 1),
            "priority": cand.priority,
        }

    def describe(cand: CandidateWarehouse, shipped: int | None = None) -> str:
        text = f"{cand.code} ({_fmt_km(distances[cand.id])}, priority {cand.priority})"
        return text if shipped is None else f"{text} ships {shipped} unit(s)"

    demand: Counter[int] = Counter()
    for line in lines:
        demand[line.sku_id] += line.quantity
    total_units = sum(demand.values())

    if not lines:
        return AllocationPlan(SINGLE_NEAREST, "Nothing to allocate.", [], {})

    # 1. one warehouse that ships everything
    for position, cand in enumerate(ranked):
        short = [sku for sku, qty in demand.items() if cand.available(sku) < qty]
        if not short:
            picks = [
                Pick(line.key, line.sku_id, cand.id, cand.stock[line.sku_id][0], line.quantity)
                for line in lines
            ]
            notes.append(
                f"{describe(cand)} is the nearest warehouse that can ship every line "
                f"({total_units} unit(s)): one shipment."
            )
            return AllocationPlan(
                SINGLE_NEAREST, " ".join(notes), picks, {line.key: 0 for line in lines}, {cand.id: info(cand)}
            )
        if position < 5:  # explain the nearest few that could not
            lacking = ", ".join(
                f"{codes.get(sku, f'SKU #{sku}')} ({cand.available(sku)} available of {demand[sku]})"
                for sku in short
            )
            notes.append(f"{describe(cand)} cannot ship everything: short of {lacking}.")

    # 2./3. greedy cover: fewest warehouses covering the most units, nearest first on ties
    limit = policy.max_shipments if policy.allow_split else 1
    remaining = {line.key: line.quantity for line in lines}
    available = {cand.id: {sku: cand.available(sku) for sku in demand} for cand in ranked}
    picks: list[Pick] = []
    chosen: list[CandidateWarehouse] = []
    shipped_by: dict[int, int] = {}
    while len(chosen) < limit and any(remaining.values()):
        best, best_cover = None, 0
        for cand in ranked:
            if cand in chosen:
                continue
            need: Counter[int] = Counter()
            for line in lines:
                need[line.sku_id] += remaining[line.key]
            cover = sum(min(qty, available[cand.id][sku]) for sku, qty in need.items())
            if cover > best_cover:
                best, best_cover = cand, cover
        if best is None:
            break
        chosen.append(best)
        shipped_by[best.id] = 0
        for line in lines:
            take = min(remaining[line.key], available[best.id][line.sku_id])
            if take <= 0:
                continue
            picks.append(Pick(line.key, line.sku_id, best.id, best.stock[line.sku_id][0], take))
            remaining[line.key] -= take
            available[best.id][line.sku_id] -= take
            shipped_by[best.id] += take

    complete = not any(remaining.values())
    chosen_text = "; ".join(describe(c, shipped_by[c.id]) for c in chosen)
    warehouses = {c.id: info(c) for c in chosen}
    if complete:
        notes.append(
            f"No single warehouse has every line; split into {len(chosen)} shipments: {chosen_text}."
        )
        return AllocationPlan(SPLIT, " ".join(notes), picks, remaining, warehouses)

    missing = sum(remaining.values())
    if not policy.allow_split and len(ranked) > 1:
        notes.append("Split shipments are off for this merchant, so at most one warehouse ships.")
    elif policy.allow_split and len(chosen) >= limit:
        notes.append(f"At most {limit} shipment(s) per order.")
    strategy = PARTIAL_BACKORDER if picks else BACKORDER
    if picks:
        notes.append(f"Allocated what exists: {chosen_text}; {missing} unit(s) backordered.")
    elif not eligible and refused_country:
        notes.append(
            f"No warehouse ships to {country} ({', '.join(refused_country)} do not); "
            f"{missing} unit(s) backordered."
        )
    else:
        notes.append(f"No stock anywhere for this order; {missing} unit(s) backordered.")
    if not policy.allow_backorder:
        notes.append("Backorders are off for this merchant: the order cannot be accepted as is.")
    return AllocationPlan(strategy, " ".join(notes), picks, remaining, warehouses)


# --- reading stock into candidates ---------------------------------------------------------
def _to_float(value: Any) -> float | None:
    return None if value is None else float(value)


def candidates_from_levels(levels: Iterable[Any], sku_ids: set[int]) -> list[CandidateWarehouse]:
    """Candidates from StockLevel rows (or anything shaped like them, with .warehouse)."""
    by_warehouse: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    warehouses: dict[int, Any] = {}
    codes: dict[int, str] = {}
    for level in levels:
        if level.sku_id not in sku_ids:
            continue
        warehouses[level.warehouse_id] = level.warehouse
        by_warehouse[level.warehouse_id][level.sku_id] = (level.pk, level.available)
        code = getattr(level, "sku_code", "")
        if code:
            codes[level.sku_id] = code
    return [
        CandidateWarehouse(
            id=wh.pk,
            code=wh.code,
            latitude=_to_float(wh.latitude),
            longitude=_to_float(wh.longitude),
            priority=wh.priority,
            active=wh.active,
            ships_to=tuple(str(c).upper() for c in (wh.ships_to or [])),
            stock=by_warehouse[wh_id],
            sku_codes=codes,
        )
        for wh_id, wh in warehouses.items()
    ]


def _validated_lines(lines: Iterable[DemandLine]) -> list[DemandLine]:
    out = list(lines)
    keys = [line.key for line in out]
    if len(set(keys)) != len(keys):
        raise InventoryError(InventoryErrorCode.INVALID_QUANTITY, "Line keys must be unique.")
    for line in out:
        if line.quantity <= 0:
            raise InventoryError(
                InventoryErrorCode.INVALID_QUANTITY, "Quantities must be positive.", key=line.key
            )
    return out


@dataclass
class _WarehouseRow:
    pk: int
    code: str
    latitude: Any
    longitude: Any
    priority: int
    active: bool
    ships_to: list[str]


@dataclass
class _LevelRow:
    """A StockLevel as the engine needs it: the numbers and its warehouse, nothing else."""

    pk: int
    sku_id: int
    warehouse_id: int
    on_hand: int
    allocated: int
    reserved: int
    warehouse: _WarehouseRow
    sku_code: str = ""

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated - self.reserved


def levels_from_rows(rows: list[dict[str, Any]]) -> dict[int, _LevelRow]:
    """Stock rows (inventory.locks.STOCK_ROW_FIELDS) as the engine plans on them, by pk."""
    warehouses: dict[int, _WarehouseRow] = {}
    levels: dict[int, _LevelRow] = {}
    for row in rows:
        wh_id = row["warehouse_id"]
        wh = warehouses.get(wh_id)
        if wh is None:
            wh = warehouses[wh_id] = _WarehouseRow(
                wh_id,
                row["warehouse__code"],
                row["warehouse__latitude"],
                row["warehouse__longitude"],
                row["warehouse__priority"],
                row["warehouse__active"],
                row["warehouse__ships_to"] or [],
            )
        levels[row["pk"]] = _LevelRow(
            row["pk"],
            row["sku_id"],
            wh_id,
            row["on_hand"],
            row["allocated"],
            row["reserved"],
            wh,
            row.get("sku__code", ""),
        )
    return levels


def _reservation_lines(
    *, tenant: Any, sku_ids: Iterable[int], reservation_id: int | None, now: datetime
) -> dict[int, list[dict[str, Any]]]:
    """The lines of every reservation an allocation looks at, by reservation: the one being
    consumed, and the expired ones holding any of these SKUs (all their lines, any SKU)."""
    expired = ReservationLine.objects.for_tenant(tenant).filter(
        sku_id__in=sorted(set(sku_ids)),
        reservation__state=ReservationState.ACTIVE,
        reservation__expires_at__lte=now,
    )
    condition = Q(reservation_id__in=expired.values("reservation_id"))
    if reservation_id is not None:
        condition |= Q(reservation_id=reservation_id)
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in (
        ReservationLine.objects.for_tenant(tenant)
        .filter(condition)
        .order_by("pk")
        .values("reservation_id", "stock_level_id", "sku_id", "warehouse_id", "quantity")
    ):
        lines[row["reservation_id"]].append(row)
    return lines


def allocation_reserved_rows(
    *, tenant: Any, sku_ids: Iterable[int], reservation_id: int | None = None, now: datetime
) -> set[int]:
    """The stock rows (pks) an allocation of these SKUs at `now` locks besides the SKUs' own rows:
    those held by the reservation it consumes and by expired reservations of these SKUs, which may
    be rows of other SKUs. A transaction that locks stock before allocating (an order serving older
    backorders first) locks these in the same statement and passes the same `now` to
    `allocation_apply`, so the allocations lock again only rows it holds."""
    lines = _reservation_lines(tenant=tenant, sku_ids=sku_ids, reservation_id=reservation_id, now=now)
    return {row["stock_level_id"] for rows in lines.values() for row in rows}


class _StockSession:
    """Stock rows read (and, when applying, locked) for one allocation, with pending changes.

    Every row it may read or write is locked in one statement: the rows of the demanded SKUs,
    the rows held by the reservation being consumed and by expired reservations of those SKUs,
    and the rows whose allocations are being given back (`release`, for a re-allocation).
    Then the reservations involved, in one statement.
    """

    def __init__(
        self,
        *,
        tenant: Any,
        sku_ids: set[int],
        reservation_id: int | None,
        lock: bool,
        now: datetime,
        release: Mapping[int, int] | None = None,
    ) -> None:
        self.tenant = tenant
        self.now = now
        self.lock = lock
        self.sku_ids = sku_ids
        self.reservation_lines = _reservation_lines(
            tenant=tenant, sku_ids=sku_ids, reservation_id=reservation_id, now=now
        )
        extra_levels = {row["stock_level_id"] for rows in self.reservation_lines.values() for row in rows}
        release = {pk: qty for pk, qty in (release or {}).items() if qty}
        self.levels = levels_from_rows(
            locks.stock_rows(tenant=tenant, pks=extra_levels | set(release), sku_ids=sku_ids, lock=lock)
        )
        ids = sorted(
            self.reservation_lines.keys() | ({reservation_id} if reservation_id is not None else set())
        )
        if lock:
            found = locks.reservations_for_update(tenant=tenant, pks=ids)
        else:
            found = list(Reservation.objects.for_tenant(tenant).filter(pk__in=ids).order_by("pk"))
        self.reservations = {reservation.pk: reservation for reservation in found}
        self.allocated_delta: Counter[int] = Counter()
        self.reserved_delta: Counter[int] = Counter()
        self.new_states: dict[int, str] = {}
        self.freed_sku_ids: set[int] = set()
        self.consumed_picks: list[Pick] = []
        self.notes: list[str] = []
        if release:
            self.release(release)

    # in-memory changes; the level objects carry the numbers the policy plans on
    def change(self, level_pk: int, *, allocated: int = 0, reserved: int = 0) -> None:
        level = self.levels[level_pk]
        level.allocated += allocated
        level.reserved += reserved
        self.allocated_delta[level_pk] += allocated
        self.reserved_delta[level_pk] += reserved

    def release(self, picks: Mapping[int, int]) -> None:
        """Give back allocated units (stock_level_id -> quantity) before planning again."""
        for level_pk, quantity in sorted(picks.items()):
            level = self.levels.get(level_pk)
            if level is None:
                raise StockLevel.DoesNotExist(f"Stock level {level_pk} not found")
            if level.allocated < quantity:
                raise InventoryError(
                    InventoryErrorCode.NOT_ALLOCATED,
                    "Cannot release more than is allocated.",
                    status=409,
                    stock_level_id=level_pk,
                    allocated=level.allocated,
                    quantity=quantity,
                )
            self.change(level_pk, allocated=-quantity)
            self.freed_sku_ids.add(level.sku_id)

    def release_expired(self, *, skip: int | None = None) -> None:
        reservations = [
            r for rid, r in self.reservations.items() if rid != skip and rid in self.reservation_lines
        ]
        for reservation in reservations:
            if reservation.state != ReservationState.ACTIVE or reservation.expires_at > self.now:
                continue
            for row in self.reservation_lines[reservation.pk]:
                self.change(row["stock_level_id"], reserved=-row["quantity"])
                self.freed_sku_ids.add(row["sku_id"])
            self.new_states[reservation.pk] = ReservationState.EXPIRED
            self.notes.append(f"Reservation {reservation.pk} had expired and was released.")

    def consume(self, reservation_id: int, lines: list[DemandLine]) -> dict[str, int]:
        """Turn the reservation's held units into picks for matching lines. Returns what is left."""
        reservation = self.reservations.get(reservation_id)
        if reservation is None:
            raise Reservation.DoesNotExist(f"Reservation {reservation_id} not found")
        remaining = {line.key: line.quantity for line in lines}
        if reservation.state == ReservationState.CONSUMED:
            raise InventoryError(
                InventoryErrorCode.RESERVATION_CONSUMED,
                "This reservation has already become an order.",
                status=409,
                reservation_id=reservation_id,
            )
        if reservation.state != ReservationState.ACTIVE or reservation.expires_at <= self.now:
            if reservation.state == ReservationState.ACTIVE:
                for row in self.reservation_lines[reservation.pk]:
                    self.change(row["stock_level_id"], reserved=-row["quantity"])
                    self.freed_sku_ids.add(row["sku_id"])
                self.new_states[reservation.pk] = ReservationState.EXPIRED
            self.notes.append(f"Reservation {reservation_id} is no longer held; allocating from stock.")
            return remaining
        for row in self.reservation_lines[reservation.pk]:
            held = row["quantity"]
            for line in lines:
                if line.sku_id != row["sku_id"] or not remaining[line.key] or not held:
                    continue
                take = min(remaining[line.key], held)
                self.change(row["stock_level_id"], reserved=-take, allocated=take)
                self.consumed_picks.append(
                    Pick(line.key, line.sku_id, row["warehouse_id"], row["stock_level_id"], take)
                )
                remaining[line.key] -= take
                held -= take
            if held:
                self.change(row["stock_level_id"], reserved=-held)
                self.freed_sku_ids.add(row["sku_id"])
        self.new_states[reservation.pk] = ReservationState.CONSUMED
        self.notes.append(f"Reservation {reservation_id} turned into this allocation.")
        return remaining

    def candidates(self) -> list[CandidateWarehouse]:
        return candidates_from_levels(self.levels.values(), self.sku_ids)

    def write(self) -> None:
        """Persist the pending changes: one UPDATE for every touched stock row, one per reservation state."""
        touched = [
            pk
            for pk in sorted(set(self.allocated_delta) | set(self.reserved_delta))
            if self.allocated_delta[pk] or self.reserved_delta[pk]
        ]
        if touched:
            changes: dict[str, Any] = {"updated_at": self.now}
            for column, delta in (("allocated", self.allocated_delta), ("reserved", self.reserved_delta)):
                moved = [pk for pk in touched if delta[pk]]
                if moved:
                    changes[column] = F(column) + Case(
                        *(When(pk=pk, then=Value(delta[pk])) for pk in moved), default=Value(0)
                    )
            StockLevel.objects.for_tenant(self.tenant).filter(pk__in=touched).update(**changes)
        by_state: dict[str, list[int]] = defaultdict(list)
        for rid, state in self.new_states.items():
            by_state[state].append(rid)
        for state, ids in by_state.items():
            Reservation.objects.for_tenant(self.tenant).filter(pk__in=ids).update(state=state)
        if self.freed_sku_ids:
            send_stock_became_available_on_commit(tenant_id=self.tenant.pk, sku_ids=self.freed_sku_ids)
        taken = [pk for pk in touched if self.allocated_delta[pk] > 0 or self.reserved_delta[pk] > 0]
        if taken:
            stock_taken.send(sender="inventory", tenant_id=self.tenant.pk, stock_level_ids=taken)


def _warehouse_info(levels: Mapping[int, Any], origin: Coordinates | None) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for level in levels.values():
        wh = level.warehouse
        km = None
        if origin is not None and wh.latitude is not None and wh.longitude is not None:
            km = round(haversine_km(origin, (float(wh.latitude), float(wh.longitude))), 1)
        out[wh.pk] = {"code": wh.code, "distance_km": km, "priority": wh.priority}
    return out


def _plan_with_session(
    session: _StockSession,
    lines: list[DemandLine],
    ship_to: ShipTo,
    policy: AllocationPolicy,
    reservation_id: int | None,
) -> AllocationPlan:
    session.release_expired(skip=reservation_id)
    remaining = {line.key: line.quantity for line in lines}
    if reservation_id is not None:
        remaining = session.consume(reservation_id, lines)
    rest = [
        DemandLine(line.key, line.sku_id, remaining[line.key]) for line in lines if remaining[line.key] > 0
    ]
    plan = plan_allocation(rest, session.candidates(), ship_to, policy)
    if not session.consumed_picks:
        if session.notes:
            plan.explanation = " ".join([*session.notes, plan.explanation])
        return plan
    picks = session.consumed_picks + plan.picks
    backorders = {line.key: plan.backorders.get(line.key, 0) for line in lines}
    warehouse_ids = {pick.warehouse_id for pick in picks}
    if any(backorders.values()):
        strategy = PARTIAL_BACKORDER
    else:
        strategy = SINGLE_NEAREST if len(warehouse_ids) == 1 else SPLIT
    info = _warehouse_info(session.levels, ship_to.coordinates())
    return AllocationPlan(
        strategy,
        " ".join([*session.notes, plan.explanation if rest else ""]).strip(),
        picks,
        backorders,
        {wid: info[wid] for wid in warehouse_ids if wid in info},
    )


# --- entry points -------------------------------------------------------------------------
def allocation_plan(
    *, tenant: Any, lines: Iterable[DemandLine], ship_to: ShipTo, policy: AllocationPolicy | None = None
) -> AllocationPlan:
    """A preview: reads stock without locks and changes nothing."""
    policy = policy or AllocationPolicy.for_tenant(tenant)
    demand = _validated_lines(lines)
    session = _StockSession(
        tenant=tenant,
        sku_ids={line.sku_id for line in demand},
        reservation_id=None,
        lock=False,
        now=timezone.now(),
    )
    return _plan_with_session(session, demand, ship_to, policy, None)


@allocation_timed("locked")
@transaction.atomic
def allocation_apply(
    *,
    tenant: Any,
    lines: Iterable[DemandLine],
    ship_to: ShipTo,
    policy: AllocationPolicy | None = None,
    reservation_id: int | None = None,
    release: Iterable[tuple[int, int]] = (),
    now: datetime | None = None,
) -> AllocationPlan:
    """Allocate: lock the SKUs' stock rows (pk order), plan on the locked numbers, raise `allocated`.

    When backorders are off and the plan is incomplete, raises `insufficient_stock` (422) and
    changes nothing. With `reservation_id`, that active reservation's units are used first.
    With `release` ((stock_level_id, quantity) allocations being given back, as a re-allocation
    does), those rows are locked in the same statement and their units are free to plan with.
    `now` (default: the current time) decides which reservations have expired; see
    `allocation_reserved_rows`.
    """
    policy = policy or AllocationPolicy.for_tenant(tenant)
    demand = _validated_lines(lines)
    session = _StockSession(
        tenant=tenant,
        sku_ids={line.sku_id for line in demand},
        reservation_id=reservation_id,
        lock=True,
        now=now or timezone.now(),
        release=_merged(release),
    )
    plan = _plan_with_session(session, demand, ship_to, policy, reservation_id)
    if not plan.is_complete and not policy.allow_backorder:
        raise InventoryError(
            InventoryErrorCode.INSUFFICIENT_STOCK,
            "Not enough stock to allocate the order, and backorders are off.",
            backorders={key: qty for key, qty in plan.backorders.items() if qty},
        )
    for pick in plan.picks[len(session.consumed_picks) :]:
        session.change(pick.stock_level_id, allocated=pick.quantity)
    session.write()
    return plan


def _merged(picks: Iterable[tuple[int, int]]) -> Counter[int]:
    wanted: Counter[int] = Counter()
    for level_pk, quantity in picks:
        if quantity < 0:
            raise InventoryError(InventoryErrorCode.INVALID_QUANTITY, "Quantities must not be negative.")
        wanted[level_pk] += quantity
    return wanted


@transaction.atomic
def allocation_release(*, tenant: Any, picks: Iterable[tuple[int, int]]) -> None:
    """Give back allocated units, e.g. when an order is cancelled: (stock_level_id, quantity).

    Locks exactly those rows, in one statement. A re-allocation passes its picks to
    `allocation_apply(release=...)` instead, so the rows it gives back and the rows it takes
    are locked together.
    """
    wanted = _merged(picks)
    if not any(wanted.values()):
        return
    session = _StockSession(
        tenant=tenant, sku_ids=set(), reservation_id=None, lock=True, now=timezone.now(), release=wanted
    )
    session.write()
