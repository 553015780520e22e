"""The dashboard (the admin's home page) on a tenant with 100,000 orders: time and SQL queries.

The tenant's rows are bulk-inserted once (--orders, default 100,000, placed over the last 30
days, 1-3 lines each, on 8 channels): about 70 % shipped in full with a purchased label and a
promised date (a fifth of them late), 5 % backordered (with the timeline event that says so),
5 % partly allocated, 3 % cancelled, 2 % on hold, and a return for 1 order in 30. A second
tenant with a few orders proves nothing of its rows is counted. Then, --runs times (default 3):
1. figures: `workspace.kpis.dashboard(tenant)`, the figures alone (wall time, queries);
2. page: GET /admin/ as the tenant's owner through Django's test Client (middleware, the
   figures, the template; wall time, queries).
A warm-up request runs first and is not counted. The query count must not depend on the
number of orders (tests/workspace/test_pages.py checks 5 against 50).

Run: `.venv/bin/python bench/dashboard.py` (options: --orders, --runs, --quick, --fresh,
--database-url). The database (default postgres://postgres@127.0.0.1:5432/oms_bench_dashboard,
or BENCH_DASHBOARD_DATABASE_URL) is created and seeded when missing, then kept (seeding 100,000
orders takes a few minutes); --fresh drops it first. A sqlite:/// URL runs on that file.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import bench_parser, ensure_database, is_postgres, recreate_database  # noqa: E402
from bench.support.results import Recorder, add_run_options  # noqa: E402

parser = bench_parser(
    __doc__,
    env="BENCH_DASHBOARD_DATABASE_URL",
    database="oms_bench_dashboard",
    why="this bench bulk-inserts 100,000 orders into its database",
)
parser.add_argument("--orders", type=int, default=100_000, help="orders of the measured tenant")
parser.add_argument("--seed", type=int, default=13)
parser.add_argument("--fresh", action="store_true", help="drop and re-create the database first")
add_run_options(parser)
args = parser.parse_args()

os.environ["DJANGO_SETTINGS_MODULE"] = "oms.settings.test"
os.environ["DATABASE_URL"] = args.database_url
os.environ.setdefault("LOG_LEVEL", "WARNING")

recorder = Recorder.from_args(__file__, parser, args, database_url=args.database_url)
if is_postgres(args.database_url):
    (recreate_database if args.fresh else ensure_database)(args.database_url)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from fulfillment.models import Label, Shipment  # noqa: E402
from inventory.models import SKU, StockLevel, StockMovement, Warehouse  # noqa: E402
from oms.models import Membership, Role, Tenant  # noqa: E402
from orders.models import Address, Customer, Order, OrderEvent, OrderLine  # noqa: E402
from returns.models import ReturnLine, ReturnRequest  # noqa: E402
from workspace import kpis  # noqa: E402

CHANNELS = ["api", "shopify", "woocommerce", "amazon", "ebay", "pos", "wholesale", "phone"]
REASONS = ["defective", "damaged", "wrong_item", "not_as_described", "wrong_size", "no_longer_needed"]
BATCH = 5000


def pick_state(rng: random.Random) -> str:
    roll = rng.random()
    for limit, state in (
        (0.70, "shipped"),
        (0.75, "backordered"),
        (0.80, "partially_allocated"),
        (0.83, "cancelled"),
        (0.85, "on_hold"),
    ):
        if roll < limit:
            return state
    return "allocated"


@transaction.atomic
def seed(slug: str, count: int, rng: random.Random) -> Tenant:
    tenant = Tenant.objects.create(slug=slug, name=f"Bench {slug}")
    user = get_user_model().objects.create_user(f"owner@{slug}.test", f"owner@{slug}.test", is_staff=True)
    Membership.objects.create(tenant=tenant, user=user, role=Role.OWNER)
    warehouse = Warehouse.objects.create(tenant=tenant, code="W1", name="Bench W1", postal_code="75201")
    skus = SKU.objects.bulk_create(
        [SKU(tenant=tenant, code=f"SKU-{i:04d}", name=f"Item {i}", price=Decimal("9.99")) for i in range(500)]
    )
    levels = StockLevel.objects.bulk_create(
        [
            StockLevel(
                tenant=tenant,
                sku=s,
                warehouse=warehouse,
                on_hand=(q := rng.randint(0, 60)),
                allocated=min(q, rng.randint(0, 10)),
                reorder_point=10,
            )
            for s in skus
        ]
    )
    StockMovement.objects.bulk_create(
        StockMovement(
            tenant=tenant,
            stock_level=lv,
            sku_id=lv.sku_id,
            warehouse=warehouse,
            delta=lv.on_hand,
            on_hand_after=lv.on_hand,
            reason="receipt",
        )
        for lv in levels
    )
    customer = Customer.objects.create(tenant=tenant, email=f"buyer@{slug}.test")
    address = Address.objects.create(tenant=tenant, line1="1 Main St", city="Austin", country="US")
    now = timezone.now()
    for start in range(0, count, BATCH):
        n = min(BATCH, count - start)
        placed = [now - dt.timedelta(seconds=rng.randint(0, 30 * 86400)) for _ in range(n)]
        states = [pick_state(rng) for _ in range(n)]
        orders = Order.objects.bulk_create(
            Order(
                tenant=tenant,
                channel=rng.choice(CHANNELS),
                external_id=f"{start + i}",
                number=f"{start + i:07d}",
                state=states[i],
                currency="USD",
                customer=customer,
                ship_to=address,
                total=Decimal("29.97"),
                subtotal=Decimal("29.97"),
                placed_at=placed[i],
            )
            for i in range(n)
        )
        lines, shipments, events = [], [], []
        for order in orders:
            shipped = order.state == "shipped"
            for position, sku in enumerate(rng.sample(skus, rng.randint(1, 3))):
                quantity = rng.randint(1, 3)
                allocated = 0 if order.state in ("backordered", "cancelled") else quantity
                if order.state == "partially_allocated":
                    allocated = quantity - 1
                lines.append(
                    OrderLine(
                        tenant=tenant,
                        order=order,
                        sku=sku,
                        quantity=quantity,
                        unit_price=Decimal("9.99"),
                        position=position,
                        quantity_allocated=0 if shipped else allocated,
                        quantity_shipped=quantity if shipped else 0,
                    )
                )
            if order.state in ("backordered", "partially_allocated") or (shipped and rng.random() < 0.05):
                events.append(
                    OrderEvent(
                        tenant=tenant,
                        order=order,
                        type="transition",
                        from_state="pending",
                        to_state="backordered",
                    )
                )
            if shipped:
                shipped_at = order.placed_at + dt.timedelta(hours=rng.uniform(2, 72))
                promised = (order.placed_at + dt.timedelta(days=2 if rng.random() < 0.8 else 0)).date()
                shipments.append(
                    Shipment(
                        tenant=tenant,
                        order=order,
                        warehouse=warehouse,
                        number=f"{order.number}-1",
                        state="shipped",
                        shipped_at=min(shipped_at, now),
                        promised_date=promised,
                    )
                )
        OrderLine.objects.bulk_create(lines, batch_size=BATCH)
        OrderEvent.objects.bulk_create(events, batch_size=BATCH)
        shipments = Shipment.objects.bulk_create(shipments, batch_size=BATCH)
        Label.objects.bulk_create(
            (
                Label(
                    tenant=tenant,
                    shipment=s,
                    reference=f"L{s.pk}",
                    state="purchased",
                    amount=Decimal(rng.randint(400, 1500)) / 100,
                    currency="USD",
                )
                for s in shipments
            ),
            batch_size=BATCH,
        )
        returned = [line for line in lines if line.quantity_shipped and rng.random() < 1 / 45]
        requests = ReturnRequest.objects.bulk_create(
            ReturnRequest(
                tenant=tenant,
                order_id=line.order_id,
                rma_number=f"RMA-{line.order_id}-{line.position}",
                state="received",
            )
            for line in returned
        )
        ReturnLine.objects.bulk_create(
            ReturnLine(
                tenant=tenant,
                return_request=r,
                order_line=line,
                sku_id=line.sku_id,
                quantity=1,
                reason=rng.choice(REASONS),
            )
            for r, line in zip(requests, returned, strict=True)
        )
        print(f"  seeded {start + n:,} orders of {slug}", flush=True)
    return tenant


def measure(fn, *fn_args):  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        result = fn(*fn_args)
        elapsed = time.perf_counter() - started
    return result, elapsed * 1000, len(ctx.captured_queries)


def main() -> None:
    call_command("migrate", verbosity=0)
    slug = f"bench-dash-{args.orders}"
    rng = random.Random(args.seed)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        started = time.monotonic()
        tenant = seed(slug, args.orders, rng)
        seed(f"{slug}-other", 200, rng)
        print(f"seeded in {time.monotonic() - started:.0f} s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    orders = Order.objects.for_tenant(tenant).count()
    print(f"tenant {slug}: {orders:,} orders")
    client = Client()
    client.force_login(get_user_model().objects.get(username=f"owner@{slug}.test"))
    response = client.get("/admin/")  # warm-up: templates, sessions
    assert response.status_code == 200, response.status_code
    assert b"Orders placed" in response.content, "the dashboard is not on the admin's home page"
    figures = kpis.dashboard(tenant)
    print(
        f"30 days: {figures['orders']['total'].month:,} orders; cycle p50 {figures['cycle']['p50_hours']} h, "
        f"p90 {figures['cycle']['p90_hours']} h; fill {figures['fill']['rate']} %; "
        f"on time {figures['on_time']['rate']} %; returns {figures['returns']['rate']} %"
    )
    print(f"\n{'run':>3} | {'figures ms':>10} {'queries':>7} | {'page ms':>8} {'queries':>7}")
    for n in range(1, recorder.runs + 1):
        _, kpi_ms, kpi_q = measure(kpis.dashboard, tenant)
        response, page_ms, page_q = measure(client.get, "/admin/")
        assert response.status_code == 200, response.status_code
        print(f"{n:>3} | {kpi_ms:>10.1f} {kpi_q:>7} | {page_ms:>8.1f} {page_q:>7}", flush=True)
        recorder.add(f"figures, {orders:,} orders", kpi_ms, "ms")
        recorder.add(f"figures queries, {orders:,} orders", kpi_q, "queries")
        recorder.add(f"dashboard page, {orders:,} orders", page_ms, "ms", target="<= 2000")
        recorder.add(f"dashboard page queries, {orders:,} orders", page_q, "queries")
    recorder.note(
        f"{connection.vendor}: GET /admin/ as the owner of a tenant with {orders:,} orders (30 days)."
    )
    recorder.finish()


if __name__ == "__main__":
    main()
