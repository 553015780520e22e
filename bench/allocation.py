"""Allocation engine throughput and query counts on PostgreSQL.

1. Allocations per second: --orders orders (default 10,000) of 1-3 lines each, allocated with
   `allocation_apply` against --warehouses warehouses (default 50) × --skus SKUs (default
   1,000), by --threads workers (default 1 and 8).
2. SQL queries per allocation (CaptureQueriesContext) with 5, 50 and 200 warehouses: it must
   not grow with the number of warehouses (candidates are read and locked in one query).

Each figure is measured --runs times (default 3; each run seeds fresh tenants) and printed as
the median and the spread (bench/support/results.py). At the default sizes a run takes about
three minutes. --quick: 1 run of 1,000 orders over 10 warehouses × 200 SKUs unless given.
Exits 1 when a stock row ends oversold.

Run: `.venv/bin/python bench/allocation.py` (options: --orders, --warehouses, --skus,
--threads, --processes, --runs, --quick, --database-url). The bench database (default
postgres://postgres@127.0.0.1:5432/oms_bench) is dropped and re-created on each invocation.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import bench_parser, is_postgres, recreate_database  # noqa: E402
from bench.support.results import Recorder, add_run_options  # noqa: E402

parser = bench_parser(
    __doc__,
    env="BENCH_DATABASE_URL",
    database="oms_bench",
    why="this bench drops and re-creates its database",
)
parser.add_argument("--orders", type=int, help="default 10,000 (--quick 1,000)")
parser.add_argument("--warehouses", type=int, help="default 50 (--quick 10)")
parser.add_argument("--skus", type=int, help="default 1,000 (--quick 200)")
parser.add_argument("--threads", type=int, nargs="+", default=[1, 8], help="worker counts to run")
parser.add_argument(
    "--processes", type=int, nargs="*", default=[2], help="worker process counts to run (as Celery prefork)"
)
parser.add_argument("--query-sample", type=int, default=200, help="orders measured per warehouse count")
parser.add_argument("--seed", type=int, default=7)
add_run_options(parser)
args = parser.parse_args()
args.orders = args.orders or (1_000 if args.quick else 10_000)
args.warehouses = args.warehouses or (10 if args.quick else 50)
args.skus = args.skus or (200 if args.quick else 1_000)

os.environ["DJANGO_SETTINGS_MODULE"] = "oms.settings.test"
os.environ["DATABASE_URL"] = args.database_url
os.environ.setdefault("LOG_LEVEL", "WARNING")

recorder = Recorder.from_args(__file__, parser, args, database_url=args.database_url)
if is_postgres(args.database_url):
    recreate_database(args.database_url)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from inventory.allocation import AllocationPolicy, DemandLine, ShipTo, allocation_apply  # noqa: E402
from inventory.geo import geocode  # noqa: E402
from inventory.models import SKU, MovementReason, StockLevel, StockMovement, Warehouse  # noqa: E402
from oms.models import Tenant  # noqa: E402

# Real ZIP codes spread over the US, for warehouses and ship-tos.
ZIPS = [
    "07001", "10001", "02108", "19103", "20001", "21201", "27601", "28202", "30303", "32801",
    "33101", "35203", "37203", "38103", "40202", "43215", "44113", "46204", "48226", "53202",
    "55401", "60606", "63101", "64105", "66101", "68102", "70112", "73102", "75201", "77002",
    "78701", "79901", "80202", "84101", "85004", "87102", "89101", "90001", "92101", "94105",
    "95814", "97201", "98101", "99501", "96813", "59601", "83702", "57501", "58501", "82001",
]  # fmt: skip


def seed(tenant: Tenant, warehouses: int, skus: int, rng: random.Random) -> list[int]:
    whs = []
    for i in range(warehouses):
        zip_code = ZIPS[i % len(ZIPS)]
        lat, lon = geocode("US", zip_code) or (None, None)
        # spread warehouses that share a ZIP a little, so distances differ
        whs.append(
            Warehouse(
                tenant=tenant,
                code=f"W{i:03d}",
                name=f"Warehouse {i}",
                postal_code=zip_code,
                country="US",
                latitude=round(lat + (i // len(ZIPS)) * 0.3, 6),
                longitude=round(lon + (i // len(ZIPS)) * 0.3, 6),
                priority=100 + i % 5,
            )
        )
    Warehouse.objects.bulk_create(whs)
    sku_rows = SKU.objects.bulk_create(
        [SKU(tenant=tenant, code=f"SKU-{i:05d}", name=f"Item {i}", price=10) for i in range(skus)]
    )
    levels = []
    for sku in sku_rows:
        for wh in whs:
            on_hand = 0 if rng.random() < 0.3 else rng.randint(1, 40)
            levels.append(StockLevel(tenant=tenant, sku=sku, warehouse=wh, on_hand=on_hand))
    StockLevel.objects.bulk_create(levels, batch_size=5000)
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                tenant=tenant,
                stock_level=lv,
                sku_id=lv.sku_id,
                warehouse_id=lv.warehouse_id,
                delta=lv.on_hand,
                on_hand_after=lv.on_hand,
                reason=MovementReason.RECEIPT,
                reference="bench",
            )
            for lv in levels
            if lv.on_hand
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return [s.pk for s in sku_rows]


def make_orders(count: int, sku_ids: list[int], rng: random.Random) -> list[tuple[list[DemandLine], ShipTo]]:
    orders = []
    for n in range(count):
        lines = [
            DemandLine(f"o{n}:l{k}", sku_id, rng.randint(1, 3))
            for k, sku_id in enumerate(rng.sample(sku_ids, rng.randint(1, 3)))
        ]
        orders.append((lines, ShipTo(country="US", postal_code=rng.choice(ZIPS))))
    return orders


def run_throughput(tenant: Tenant, orders: list, threads: int) -> tuple[float, dict[str, int]]:
    policy = AllocationPolicy.for_tenant(tenant)
    strategies: dict[str, int] = {}
    lock = threading.Lock()
    chunks = [orders[i::threads] for i in range(threads)]

    def worker(chunk: list) -> None:
        try:
            for lines, ship_to in chunk:
                plan = allocation_apply(tenant=tenant, lines=lines, ship_to=ship_to, policy=policy)
                with lock:
                    strategies[plan.strategy] = strategies.get(plan.strategy, 0) + 1
        finally:
            connection.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - started, strategies


def _allocate_chunk(payload: tuple[int, list]) -> dict[str, int]:
    """In a worker process: allocate a share of the orders, on a connection of its own."""
    tenant_id, chunk = payload
    connection.close()  # never share the parent's socket
    tenant = Tenant.objects.get(pk=tenant_id)
    policy = AllocationPolicy.for_tenant(tenant)
    strategies: dict[str, int] = {}
    for lines, ship_to in chunk:
        plan = allocation_apply(tenant=tenant, lines=lines, ship_to=ship_to, policy=policy)
        strategies[plan.strategy] = strategies.get(plan.strategy, 0) + 1
    connection.close()
    return strategies


def run_processes(tenant: Tenant, orders: list, processes: int) -> tuple[float, dict[str, int]]:
    import multiprocessing

    connection.close()
    chunks = [(tenant.pk, orders[i::processes]) for i in range(processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(_allocate_chunk, chunks)
    elapsed = time.perf_counter() - started
    strategies: dict[str, int] = {}
    for result in results:
        for key, value in result.items():
            strategies[key] = strategies.get(key, 0) + value
    return elapsed, strategies


def queries_per_allocation(tenant: Tenant, orders: list) -> list[int]:
    policy = AllocationPolicy.for_tenant(tenant)
    counts = []
    for lines, ship_to in orders:
        with CaptureQueriesContext(connection) as ctx:
            allocation_apply(tenant=tenant, lines=lines, ship_to=ship_to, policy=policy)
        counts.append(len(ctx.captured_queries))
    return counts


def main() -> int:
    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    vendor = connection.vendor
    print(f"database: {vendor} {connection.settings_dict['NAME']}")
    recorder.note(
        f"{args.orders:,} orders of 1-3 lines, {args.warehouses} warehouses × {args.skus:,} SKUs; "
        f"queries per allocation over {args.query_sample} orders and 100 SKUs."
    )
    oversold_total = 0
    for run in range(1, recorder.runs + 1):
        print(f"\n== run {run} of {recorder.runs}")
        print(f"Throughput: {args.orders:,} orders, {args.warehouses} warehouses × {args.skus:,} SKUs")
        for threads in args.threads:
            tenant = Tenant.objects.create(slug=f"bench-r{run}-t{threads}", name=f"Bench {threads} threads")
            t0 = time.perf_counter()
            sku_ids = seed(tenant, args.warehouses, args.skus, rng)
            seeded = time.perf_counter() - t0
            orders = make_orders(args.orders, sku_ids, rng)
            elapsed, strategies = run_throughput(tenant, orders, threads)
            oversold = StockLevel.objects.for_tenant(tenant).filter(allocated__gt=models_f("on_hand")).count()
            oversold_total += oversold
            print(
                f"threads {threads:>2}: {args.orders / elapsed:,.0f} allocations/s "
                f"({elapsed:.1f} s; seeded in {seeded:.1f} s); "
                f"strategies {dict(sorted(strategies.items()))}; oversold rows {oversold}"
            )
            label = f"{threads} thread{'s' if threads != 1 else ''} in one process"
            recorder.add(f"allocations/s, {label}", args.orders / elapsed, "allocations/s")
            recorder.add(f"oversold stock rows, {label}", oversold, "rows", target="== 0")

        for processes in args.processes:
            tenant = Tenant.objects.create(
                slug=f"bench-r{run}-p{processes}", name=f"Bench {processes} processes"
            )
            sku_ids = seed(tenant, args.warehouses, args.skus, rng)
            orders = make_orders(args.orders, sku_ids, rng)
            elapsed, strategies = run_processes(tenant, orders, processes)
            oversold = StockLevel.objects.for_tenant(tenant).filter(allocated__gt=models_f("on_hand")).count()
            oversold_total += oversold
            print(
                f"processes {processes:>2}: {args.orders / elapsed:,.0f} allocations/s ({elapsed:.1f} s); "
                f"strategies {dict(sorted(strategies.items()))}; oversold rows {oversold}"
            )
            label = f"{processes} processes (as Celery prefork)"
            recorder.add(f"allocations/s, {label}", args.orders / elapsed, "allocations/s")
            recorder.add(f"oversold stock rows, {label}", oversold, "rows", target="== 0")

        print(f"SQL queries per allocation ({args.query_sample} orders each, 100 SKUs)")
        for count in (5, 50, 200):
            tenant = Tenant.objects.create(slug=f"bench-r{run}-q{count}", name=f"Bench {count} warehouses")
            sku_ids = seed(tenant, count, 100, rng)
            counts = queries_per_allocation(tenant, make_orders(args.query_sample, sku_ids, rng))
            print(
                f"{count:>3} warehouses: min {min(counts)}, mean {statistics.mean(counts):.2f}, "
                f"max {max(counts)} queries per allocation"
            )
            recorder.add(
                f"SQL queries per allocation (mean), {count} warehouses", statistics.mean(counts), "queries"
            )
            recorder.add(f"SQL queries per allocation (max), {count} warehouses", max(counts), "queries")
    recorder.finish(ok=oversold_total == 0)
    return 1 if oversold_total else 0


def models_f(name: str):  # a tiny helper so the oversell check reads plainly above
    from django.db.models import F

    return F(name)


if __name__ == "__main__":
    sys.exit(main())
