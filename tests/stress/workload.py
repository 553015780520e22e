"""A mixed stock workload run from several OS processes at once, and the checks that follow it.

Receipts, adjustments, counts, transfers (immediate and in transit), inbound purchase orders
received and cancelled, checkout reservations (held, released, expired, consumed), orders
placed, edited, re-allocated, cancelled and shipped, and restocks: all over a few SKUs and
warehouses, so every operation overlaps with the others. Stock rows are created in an order
that differs from the SKUs' order, and some are missing until a first receipt creates them.

Each process counts what it did; a deadlock is counted and the operation retried. Afterwards
`check` looks at the rows: nothing oversold, `allocated` and `reserved` equal to the
allocations and active reservations behind them, and `reconcile_stock` finds no drift.

Used by tests/stress/test_stress_postgres.py (bounded, in CI) and bench/stress.py (longer).
Needs a database that several connections share (PostgreSQL); forks its workers.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import random
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.management import call_command
from django.db import OperationalError, connections, transaction
from django.db.models import Sum

from inventory.allocation import ShipTo
from inventory.geo import geocode
from inventory.models import (
    OPEN_INBOUND_STATES,
    SKU,
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
from inventory.services import (
    inbound_cancel,
    inbound_create,
    inbound_receive,
    reservation_create,
    reservation_release,
    reservations_expire,
    stock_adjust,
    stock_count,
    stock_receive,
    stock_restock,
    stock_transfer,
)
from oms.core.errors import DomainError
from oms.models import Tenant
from orders.models import Allocation, Order, OrderLine
from orders.services import (
    SHIPPABLE,
    LineInput,
    OrderInput,
    order_cancel,
    order_create,
    order_edit,
    order_reallocate,
    order_record_shipment,
)
from orders.states import ALLOCATABLE, CANCELLABLE, EDITABLE

# Real US ZIPs: Avenel NJ, Los Angeles CA, Dallas TX, Chicago IL.
WAREHOUSE_ZIPS = ("07001", "90001", "75201", "60601")
SHIP_TO_ZIPS = ("78701", "10001", "94103", "60601", "33101", "98101")

WEIGHTS = {
    "receive": 6,
    "adjust": 3,
    "count": 2,
    "transfer": 5,
    "inbound_receive": 6,
    "inbound_cancel": 2,
    "reserve": 5,
    "reservation_release": 2,
    "reservations_expire": 2,
    "order": 14,
    "order_with_reservation": 3,
    "edit": 7,
    "reallocate": 5,
    "cancel": 4,
    "ship": 4,
    "restock": 2,
}


@dataclass
class StressConfig:
    processes: int = 3
    rounds: int = 150  # operations per process
    skus: int = 6
    warehouses: int = 3
    seed: int = 20261126
    tenant_slug: str = "stress"


@dataclass
class StressReport:
    config: StressConfig
    seconds: float = 0.0
    operations: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    deadlocks: int = 0
    deadlocks_by_kind: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        cfg = self.config
        out = [
            f"stress: {cfg.processes} processes x {cfg.rounds} rounds over {cfg.skus} SKUs x "
            f"{cfg.warehouses} warehouses in {self.seconds:.1f} s",
            f"operations: {sum(self.operations.values())} "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.operations.items())),
            "refused by a rule (expected): "
            + (", ".join(f"{k} {v}" for k, v in sorted(self.refused.items())) or "none"),
            f"deadlocks: {self.deadlocks}"
            + (
                f" ({', '.join(f'{k} {v}' for k, v in sorted(self.deadlocks_by_kind.items()))})"
                if self.deadlocks
                else ""
            )
            + f", retries: {self.retries}, unexpected errors: {len(self.errors)}",
        ]
        for name, value in self.checks.items():
            out.append(f"{name}: {value}")
        out.extend(f"  error: {text}" for text in self.errors[:10])
        return out


# --- setup ------------------------------------------------------------------------------------
def setup(config: StressConfig) -> Tenant:
    """A tenant with SKUs and warehouses; stock rows created in an order unlike the SKUs' order."""

    rng = random.Random(config.seed)
    tenant = Tenant.objects.create(slug=config.tenant_slug, name="Stress Outfitters")
    skus = [
        SKU.objects.create(tenant=tenant, code=f"ST-{i:02d}", name=f"Stress item {i}", price=Decimal("10.00"))
        for i in range(config.skus)
    ]
    warehouses = []
    for i in range(config.warehouses):
        zip_code = WAREHOUSE_ZIPS[i % len(WAREHOUSE_ZIPS)]
        lat, lon = geocode("US", zip_code) or (None, None)
        warehouses.append(
            Warehouse.objects.create(
                tenant=tenant,
                code=f"SW{i}",
                name=f"Stress warehouse {i}",
                country="US",
                postal_code=zip_code,
                latitude=None if lat is None else Decimal(f"{lat:.6f}"),
                longitude=None if lon is None else Decimal(f"{lon:.6f}"),
            )
        )
    pairs = [(sku, wh) for sku in skus for wh in warehouses]
    rng.shuffle(pairs)  # stock row pks in an order unlike the SKUs' order
    for sku, wh in pairs[: len(pairs) * 2 // 3]:  # the rest is created by a first receipt
        stock_receive(
            tenant=tenant, sku_id=sku.pk, warehouse_id=wh.pk, quantity=rng.randint(2, 6), reference="setup"
        )
    return tenant


# --- one worker process -------------------------------------------------------------------------
class _Worker:
    def __init__(self, tenant: Tenant, index: int, config: StressConfig) -> None:
        self.tenant = tenant
        self.index = index
        self.rng = random.Random(config.seed * 100 + index)
        self.skus = list(SKU.objects.for_tenant(tenant).order_by("pk"))
        self.warehouses = list(Warehouse.objects.for_tenant(tenant).order_by("pk"))
        self.serial = 0
        self.reservations: list[int] = []

    # helpers
    def sku(self) -> SKU:
        return self.rng.choice(self.skus)

    def wh(self) -> Warehouse:
        return self.rng.choice(self.warehouses)

    def ref(self, kind: str) -> str:
        self.serial += 1
        return f"{kind}-{self.index}-{self.serial}"

    def line_inputs(self, count: int) -> list[Any]:
        return [
            LineInput(sku=sku.code, quantity=self.rng.randint(1, 3), unit_price=Decimal("10.00"))
            for sku in self.rng.sample(self.skus, count)
        ]

    def ship_to(self) -> dict[str, str]:
        return {
            "name": "Stress",
            "line1": "1 Main St",
            "country": "US",
            "postal_code": self.rng.choice(SHIP_TO_ZIPS),
        }

    def some_order(self, states: list[str]) -> int | None:
        ids = list(
            Order.objects.for_tenant(self.tenant)
            .filter(state__in=states)
            .order_by("-pk")
            .values_list("pk", flat=True)[:40]
        )
        return self.rng.choice(ids) if ids else None

    def open_inbound(self) -> int | None:
        ids = list(
            InboundShipment.objects.for_tenant(self.tenant)
            .filter(state__in=OPEN_INBOUND_STATES)
            .order_by("-pk")
            .values_list("pk", flat=True)[:20]
        )
        return self.rng.choice(ids) if ids else None

    # the operations; each returns normally, or raises a DomainError when a rule refuses it
    def op_receive(self) -> None:
        stock_receive(
            tenant=self.tenant,
            sku_id=self.sku().pk,
            warehouse_id=self.wh().pk,
            quantity=self.rng.randint(1, 6),
            reference=self.ref("rcv"),
        )

    def op_restock(self) -> None:
        stock_restock(
            tenant=self.tenant,
            sku_id=self.sku().pk,
            warehouse_id=self.wh().pk,
            quantity=self.rng.randint(1, 2),
            reference=self.ref("rma"),
        )

    def op_adjust(self) -> None:
        stock_adjust(
            tenant=self.tenant,
            sku_id=self.sku().pk,
            warehouse_id=self.wh().pk,
            delta=self.rng.choice([-2, -1, 1, 2, 3]),
            reason=MovementReason.ADJUSTMENT,
            reference=self.ref("adj"),
        )

    def op_count(self) -> None:
        sku, wh = self.sku(), self.wh()
        level = StockLevel.objects.for_tenant(self.tenant).filter(sku=sku, warehouse=wh).first()
        seen = level.on_hand if level else 0
        stock_count(
            tenant=self.tenant,
            sku_id=sku.pk,
            warehouse_id=wh.pk,
            counted=max(0, seen + self.rng.randint(-1, 2)),
            reference=self.ref("cnt"),
        )

    def op_transfer(self) -> None:
        source, dest = self.rng.sample(self.warehouses, 2)
        stock_transfer(
            tenant=self.tenant,
            sku_id=self.sku().pk,
            from_warehouse_id=source.pk,
            to_warehouse_id=dest.pk,
            quantity=self.rng.randint(1, 2),
            in_transit=self.rng.random() < 0.5,
            reference=self.ref("xfer"),
        )

    def op_inbound_receive(self) -> None:
        shipment_id = self.open_inbound() if self.rng.random() < 0.3 else None
        if shipment_id is None:
            skus = self.rng.sample(self.skus, self.rng.randint(2, min(4, len(self.skus))))
            shipment_id = inbound_create(
                tenant=self.tenant,
                warehouse_id=self.wh().pk,
                lines=[(sku.pk, self.rng.randint(2, 6)) for sku in skus],
                reference=self.ref("po"),
            ).pk
        inbound_receive(tenant=self.tenant, shipment_id=shipment_id)

    def op_inbound_cancel(self) -> None:
        shipment_id = self.open_inbound()
        if shipment_id is not None:
            inbound_cancel(tenant=self.tenant, shipment_id=shipment_id)

    def op_reserve(self) -> None:
        reservation = reservation_create(
            tenant=self.tenant,
            lines=[(sku.pk, self.rng.randint(1, 2)) for sku in self.rng.sample(self.skus, 2)],
            ship_to=ShipTo(country="US", postal_code=self.rng.choice(SHIP_TO_ZIPS)),
            ttl_seconds=self.rng.randint(1, 4),
            reference=self.ref("cart"),
        )
        self.reservations.append(reservation.pk)

    def op_reservation_release(self) -> None:
        if self.reservations:
            reservation_release(tenant=self.tenant, reservation_id=self.reservations.pop(0))

    def op_reservations_expire(self) -> None:
        reservations_expire(tenant=self.tenant)

    def op_order(self, *, reservation: int | None = None) -> None:
        lines = self.line_inputs(self.rng.randint(1, 3))
        if reservation is not None:
            held = ReservationLine.objects.for_tenant(self.tenant).filter(reservation_id=reservation)
            codes = {row.sku_id: row.quantity for row in held}
            by_pk = {sku.pk: sku.code for sku in self.skus}
            lines = [
                LineInput(sku=by_pk[pk], quantity=qty, unit_price=Decimal("10.00"))
                for pk, qty in codes.items()
            ]
        order_create(
            tenant=self.tenant,
            data=OrderInput(
                channel="stress",
                external_id=self.ref("order"),
                currency="USD",
                customer={"email": f"buyer{self.rng.randint(1, 20)}@example.test"},
                ship_to=self.ship_to(),
                lines=lines,
                reservation=reservation,
            ),
        )

    def op_order_with_reservation(self) -> None:
        if not self.reservations:
            return self.op_order()
        return self.op_order(reservation=self.reservations.pop())

    def op_edit(self) -> None:
        order_id = self.some_order(EDITABLE)
        if order_id is None:
            return
        changes: dict[str, Any] = {"lines": self.line_inputs(self.rng.randint(1, 3))}
        if self.rng.random() < 0.3:
            changes["ship_to"] = self.ship_to()
        order_edit(tenant=self.tenant, order_id=order_id, **changes)

    def op_reallocate(self) -> None:
        order_id = self.some_order(ALLOCATABLE)
        if order_id is not None:
            order_reallocate(tenant=self.tenant, order_id=order_id)

    def op_cancel(self) -> None:
        order_id = self.some_order(CANCELLABLE)
        if order_id is not None:
            order_cancel(tenant=self.tenant, order_id=order_id, reason="stress")

    def op_ship(self) -> None:
        order_id = self.some_order(SHIPPABLE)
        if order_id is not None:
            order_record_shipment(tenant=self.tenant, order_id=order_id, reference=self.ref("shp"))

    def run(self, rounds: int) -> dict[str, Any]:
        ops, refused, deadlocked = Counter(), Counter(), Counter()
        deadlocks = retries = 0
        errors: list[str] = []
        kinds, weights = zip(*WEIGHTS.items(), strict=True)
        for _ in range(rounds):
            kind = self.rng.choices(kinds, weights)[0]
            for attempt in range(4):
                try:
                    getattr(self, f"op_{kind}")()
                    ops[kind] += 1
                except DomainError as exc:
                    ops[kind] += 1
                    refused[f"{kind}:{exc.code}"] += 1
                except OperationalError as exc:
                    if "deadlock detected" not in str(exc):
                        errors.append(f"{kind}: {exc!r}")
                        break
                    deadlocks += 1
                    deadlocked[kind] += 1
                    if attempt < 3:
                        retries += 1
                        continue
                    errors.append(f"{kind}: gave up after 3 retries")
                except Exception as exc:
                    errors.append(f"{kind}: {exc!r} {traceback.format_exc(limit=-3)!r}")
                break
        return {
            "operations": dict(ops),
            "refused": dict(refused),
            "deadlocks": deadlocks,
            "deadlocks_by_kind": dict(deadlocked),
            "retries": retries,
            "errors": errors,
        }


def _worker_main(tenant_id: int, index: int, config: StressConfig, results: Any) -> None:
    logging.disable(logging.INFO)  # the eager backorder task logs every run; keep warnings
    try:
        tenant = Tenant.objects.get(pk=tenant_id)
        results.put((index, _Worker(tenant, index, config).run(config.rounds)))
    except BaseException as exc:  # report, never hang the parent
        results.put((index, {"errors": [f"worker {index} died: {exc!r}"]}))
    finally:
        connections.close_all()


# --- the run and the checks -----------------------------------------------------------------------
def run(config: StressConfig) -> StressReport:
    """Set up, run the workers in forked processes, collect their figures, check the rows."""
    tenant = setup(config)
    report = StressReport(config=config)
    connections.close_all()  # a forked child must not share the parent's socket
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    started = time.monotonic()
    processes = [
        ctx.Process(target=_worker_main, args=(tenant.pk, i, config, results), daemon=True)
        for i in range(config.processes)
    ]
    for process in processes:
        process.start()
    collected = 0
    while collected < len(processes):
        try:
            _, result = results.get(timeout=600)
        except Exception:
            report.errors.append("a worker did not report within 600 s")
            break
        collected += 1
        report.operations.update(result.get("operations", {}))
        report.refused.update(result.get("refused", {}))
        report.deadlocks += result.get("deadlocks", 0)
        report.deadlocks_by_kind.update(result.get("deadlocks_by_kind", {}))
        report.retries += result.get("retries", 0)
        report.errors.extend(result.get("errors", []))
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    report.seconds = time.monotonic() - started
    report.checks = check(tenant)
    return report


def check(tenant: Tenant) -> dict[str, Any]:
    """What the rows say after the run. Every figure but the order and reservation counts must be 0."""

    levels = list(StockLevel.objects.for_tenant(tenant).order_by("pk"))
    allocations = dict(
        Allocation.objects.for_tenant(tenant)
        .values("stock_level_id")
        .annotate(total=Sum("quantity"))
        .values_list("stock_level_id", "total")
    )
    reserved = dict(
        ReservationLine.objects.for_tenant(tenant)
        .filter(reservation__state=ReservationState.ACTIVE)
        .values("stock_level_id")
        .annotate(total=Sum("quantity"))
        .values_list("stock_level_id", "total")
    )
    ledger = dict(
        StockMovement.objects.for_tenant(tenant)
        .values("stock_level_id")
        .annotate(total=Sum("delta"))
        .values_list("stock_level_id", "total")
    )
    line_mismatch = 0
    line_allocations = dict(
        Allocation.objects.for_tenant(tenant)
        .values("order_line_id")
        .annotate(total=Sum("quantity"))
        .values_list("order_line_id", "total")
    )
    for line in OrderLine.objects.for_tenant(tenant):
        if line.quantity_allocated != line_allocations.get(line.pk, 0):
            line_mismatch += 1
    out = io.StringIO()
    call_command("reconcile_stock", "--tenant", tenant.slug, stdout=out)
    summary = out.getvalue().strip().splitlines()[-1] if out.getvalue().strip() else ""
    drifted = sum(1 for level in levels if level.on_hand != (ledger.get(level.pk) or 0))
    with transaction.atomic():
        states = Counter(Order.objects.for_tenant(tenant).values_list("state", flat=True))
    return {
        "stock rows": len(levels),
        "orders by state": dict(sorted(states.items())),
        "inbound shipments": InboundShipment.objects.for_tenant(tenant).count(),
        "open inbound": InboundShipment.objects.for_tenant(tenant)
        .filter(state__in=[InboundState.EXPECTED, InboundState.IN_TRANSIT, InboundState.PARTIALLY_RECEIVED])
        .count(),
        "reservations": Reservation.objects.for_tenant(tenant).count(),
        "oversold rows": sum(1 for lv in levels if lv.on_hand < lv.allocated + lv.reserved or lv.on_hand < 0),
        "allocated != allocations": sum(1 for lv in levels if lv.allocated != allocations.get(lv.pk, 0)),
        "reserved != active reservations": sum(1 for lv in levels if lv.reserved != reserved.get(lv.pk, 0)),
        "order lines != allocations": line_mismatch,
        "reconcile differences": drifted,
        "reconcile_stock": summary,
    }


ZERO_CHECKS = (
    "oversold rows",
    "allocated != allocations",
    "reserved != active reservations",
    "order lines != allocations",
    "reconcile differences",
)
