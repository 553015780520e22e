"""Pick lists: time and SQL queries to build and render one, and to scan-confirm one line.

For each size in --orders (default 50 and 500), a warehouse gets that many pending shipments
(1-3 lines each, SKUs in bins), then:
1. build: `pick_list_create` puts them all on one batch pick list;
2. render: the pick-list page (GET, through Django's test client, templates and all);
3. scan: one scan posted to the page (`pick_scan`; the page it redirects to is not counted).
A first run of 5 orders warms up (templates loaded) and is not printed.
The query counts must not grow with the number of orders: the page reads its rows in a fixed
number of queries, and a scan touches one line.

Each size runs --runs times (default 3, each on a new warehouse); the figures are the median
and the spread over the runs (bench/support/results.py). --quick: 1 run of 50 orders unless given.

Run: `.venv/bin/python bench/picklist.py` (options: --orders, --skus, --runs, --quick,
--database-url). The bench database (default
postgres://postgres@127.0.0.1:5432/oms_bench_picklist) is dropped and re-created on each
invocation; with a sqlite:/// URL it runs on that file instead.
"""

from __future__ import annotations

import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import bench_parser, is_postgres, recreate_database  # noqa: E402
from bench.support.results import Recorder, add_run_options  # noqa: E402

parser = bench_parser(
    __doc__,
    env="BENCH_PICKLIST_DATABASE_URL",
    database="oms_bench_picklist",
    why="this bench drops and re-creates its database",
)
parser.add_argument("--orders", type=int, nargs="+", help="pick-list sizes to run (default 50 500)")
parser.add_argument("--skus", type=int, default=300)
parser.add_argument("--seed", type=int, default=7)
add_run_options(parser)
args = parser.parse_args()
args.orders = args.orders or ([50] if args.quick else [50, 500])

os.environ["DJANGO_SETTINGS_MODULE"] = "oms.settings.test"
os.environ["DATABASE_URL"] = args.database_url
os.environ.setdefault("LOG_LEVEL", "WARNING")

recorder = Recorder.from_args(__file__, parser, args, database_url=args.database_url)
if is_postgres(args.database_url):
    recreate_database(args.database_url)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from fulfillment.models import FulfillmentSettings, Shipment, ShipmentLine, WarehouseAssignment  # noqa: E402
from fulfillment.services import pick_list_create  # noqa: E402
from fulfillment.states import PickListKind, ShipmentState  # noqa: E402
from inventory.models import SKU, StockLevel, Warehouse  # noqa: E402
from oms.models import Membership, Role, Tenant  # noqa: E402
from orders.models import Address, Customer, Order, OrderLine  # noqa: E402
from orders.states import OrderState  # noqa: E402


def seed_catalog(tenant: Tenant, count: int) -> list[SKU]:
    return SKU.objects.bulk_create(
        [
            SKU(
                tenant=tenant,
                code=f"SKU-{i:05d}",
                name=f"Item {i}",
                barcode=f"0{700000000000 + i}",
                price=Decimal("9.99"),
                weight_grams=250,
            )
            for i in range(count)
        ]
    )


def seed_warehouse(tenant: Tenant, code: str, skus: list[SKU], rng: random.Random) -> Warehouse:
    warehouse = Warehouse.objects.create(tenant=tenant, code=code, name=f"Bench {code}", postal_code="75201")
    StockLevel.objects.bulk_create(
        [
            StockLevel(
                tenant=tenant,
                sku=sku,
                warehouse=warehouse,
                on_hand=100_000,
                allocated=0,
                bin_location=f"{rng.choice('ABCDEFGH')}-{rng.randint(1, 40):02d}-{rng.randint(1, 6)}",
            )
            for sku in skus
        ],
        batch_size=2000,
    )
    return warehouse


@transaction.atomic
def seed_shipments(
    tenant: Tenant, warehouse: Warehouse, skus: list[SKU], count: int, rng: random.Random
) -> None:
    """`count` allocated orders, each with one pending shipment from `warehouse` (rows written
    directly: the bench measures the pick list, not the release)."""
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        [
            Customer(tenant=tenant, email=f"{warehouse.code}-{i}@bench.test", name=f"C {i}")
            for i in range(count)
        ]
    )
    addresses = Address.objects.bulk_create(
        [
            Address(
                tenant=tenant,
                name=f"C {i}",
                line1="1 Main St",
                city="Austin",
                postal_code="78701",
                country="US",
            )
            for i in range(count)
        ]
    )
    orders = Order.objects.bulk_create(
        [
            Order(
                tenant=tenant,
                channel="bench",
                external_id=f"{warehouse.code}-{i}",
                number=f"{warehouse.code}-{i:05d}",
                state=OrderState.ALLOCATED,
                currency="USD",
                customer=customers[i],
                ship_to=addresses[i],
                subtotal=Decimal("19.98"),
                shipping_price=Decimal("0"),
                tax=Decimal("0"),
                discount=Decimal("0"),
                total=Decimal("19.98"),
                placed_at=now,
            )
            for i in range(count)
        ]
    )
    order_lines = []
    for order in orders:
        for position, sku in enumerate(rng.sample(skus, rng.randint(1, 3))):
            quantity = rng.randint(1, 3)
            order_lines.append(
                OrderLine(
                    tenant=tenant,
                    order=order,
                    sku=sku,
                    quantity=quantity,
                    unit_price=Decimal("9.99"),
                    tax=Decimal("0"),
                    discount=Decimal("0"),
                    quantity_allocated=quantity,
                    position=position,
                )
            )
    OrderLine.objects.bulk_create(order_lines, batch_size=2000)
    shipments = Shipment.objects.bulk_create(
        [
            Shipment(
                tenant=tenant,
                order=order,
                warehouse=warehouse,
                number=f"{order.number}-1",
                state=ShipmentState.PENDING,
                service_level="standard",
            )
            for order in orders
        ]
    )
    by_order = {s.order_id: s for s in shipments}
    ShipmentLine.objects.bulk_create(
        [
            ShipmentLine(
                tenant=tenant,
                shipment=by_order[line.order_id],
                order_line=line,
                sku=line.sku,
                quantity=line.quantity,
            )
            for line in order_lines
        ],
        batch_size=2000,
    )


def measure(fn, *fn_args, **fn_kwargs):  # type: ignore[no-untyped-def]
    """fn's result, its wall time in ms and the SQL queries it ran."""
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        result = fn(*fn_args, **fn_kwargs)
        elapsed = time.perf_counter() - started
    return result, elapsed * 1000, len(ctx.captured_queries)


def run(
    tenant: Tenant, user, membership, client: Client, skus: list[SKU], count: int, rng: random.Random
) -> dict[str, float]:  # type: ignore[no-untyped-def]
    warehouse = seed_warehouse(tenant, f"B{count}-{Warehouse.objects.for_tenant(tenant).count()}", skus, rng)
    WarehouseAssignment.objects.create(tenant=tenant, membership=membership, warehouse=warehouse)
    seed_shipments(tenant, warehouse, skus, count, rng)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    pick_list, build_ms, build_q = measure(
        pick_list_create,
        tenant=tenant,
        warehouse_id=warehouse.pk,
        kind=PickListKind.BATCH,
        limit=count,
        actor=user,
    )
    page = reverse("warehouse:pick_list", args=[warehouse.pk, pick_list.pk])
    response, render_ms, render_q = measure(client.get, page)
    assert response.status_code == 200, response.status_code
    on_list = ShipmentLine.objects.for_tenant(tenant).filter(shipment__pick_list=pick_list)
    first = on_list.select_related("sku").order_by("pk").first()
    scan = reverse("warehouse:pick_scan", args=[warehouse.pk, pick_list.pk])
    response, scan_ms, scan_q = measure(client.post, scan, {"code": first.sku.barcode})
    assert response.status_code == 302, response.status_code
    lines = on_list.count()
    return {
        "lines": lines,
        "build ms": build_ms,
        "build queries": build_q,
        "render ms": render_ms,
        "render queries": render_q,
        "scan ms": scan_ms,
        "scan queries": scan_q,
    }


def main() -> None:
    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    tenant = Tenant.objects.create(slug="bench-picklist", name="Bench pick lists")
    FulfillmentSettings.objects.create(tenant=tenant, auto_release=False)
    user = get_user_model().objects.create_user("picker@bench.test", "picker@bench.test")
    membership = Membership.objects.create(tenant=tenant, user=user, role=Role.WAREHOUSE)
    skus = seed_catalog(tenant, args.skus)
    client = Client()
    client.force_login(user)
    print(
        f"\n{'run':>3} {'orders':>7} {'lines':>6} | {'build ms':>9} {'queries':>7} | "
        f"{'render ms':>9} {'queries':>7} | {'scan ms':>8} {'queries':>7}"
    )
    run(tenant, user, membership, client, skus, 5, rng)  # warm-up: templates loaded, connections open
    for n in range(1, recorder.runs + 1):
        for count in args.orders:
            f = run(tenant, user, membership, client, skus, count, rng)
            print(
                f"{n:>3} {count:>7} {f['lines']:>6} | {f['build ms']:>9.1f} {f['build queries']:>7} | "
                f"{f['render ms']:>9.1f} {f['render queries']:>7} | "
                f"{f['scan ms']:>8.1f} {f['scan queries']:>7}",
                flush=True,
            )
            for name in ("build", "render", "scan"):
                recorder.add(f"{name}, {count} orders", f[f"{name} ms"], "ms")
                recorder.add(f"{name} queries, {count} orders", f[f"{name} queries"], "queries")
            recorder.add(f"lines on the list, {count} orders", f["lines"], "lines")
    recorder.finish()


if __name__ == "__main__":
    main()
