"""Order API under load: create, list and detail latency (p50/p99) and requests per second.

16 concurrent clients against gunicorn + PostgreSQL, with 100,000 orders already in the
table. Each run has three phases of --seconds each: order-create (POST /api/v1/orders/, one
line), order-list (GET /api/v1/orders/ with mixed filters) and order-detail
(GET /api/v1/orders/<id>/ of orders taken from the list); the figures are the median and the
spread over --runs runs (default 3; bench/support/results.py), after a warm-up of 5 s per
phase that is not counted. What a create enqueues (the release to a warehouse) is published to
an embedded broker in a temporary directory and left there: in production a worker process
runs it, and this bench measures the web tier.

The server: gunicorn with --workers sync workers (default two per core: a worker waiting on
PostgreSQL leaves its core to another) under oms.settings.prod, which keeps each worker's
database connection (DB_CONN_MAX_AGE, here 60 s) instead of opening one per request.

Run: `.venv/bin/python bench/api.py` (options: --orders, --clients, --client, --seconds, --workers,
--runs, --quick, --database-url, --server-root). The seeded database is kept and reused
between runs: it is seeded up to --orders orders and never trimmed (the bench prints how many
it holds); seeding 100,000 orders takes about a minute. --quick: 5,000 orders, 5 s per phase
and 1 run unless given. --server-root: serve another checkout's code (e.g. `git archive main`
unpacked in a temporary directory) with this driver and this database, to compare two
versions in the same conditions; run the two alternately.
The seed is a merchant's table as it stands: orders allocated, shipped and delivered on SKUs
in stock (their lines allocated or shipped in full), and a quarter of them backordered, all on
SOLD_OUT SKUs (the last 50 of 500, none on hand), as backorders are once the sweeps have served
what a receipt brought. A create picks any of the 500 SKUs: one in ten finds its SKU sold out
and is placed backordered. (Seeds before this rule put backorders on SKUs with a million units
free and left every line unallocated, which no running system holds: every create then served
up to a hundred older orders first. A database with that seed is dropped and seeded again.)
Client and server share this machine's cores, so figures are a floor, not a ceiling. Each
client is a forked process with one kept-alive http.client connection (--client processes,
bench/support/load.py); --client threads runs the former client, a thread with a requests
Session each in one process, whose clocks also count the wait for that process's interpreter
lock. The clients are a closed loop: each sends its next request when the last one is answered, so the
median latency is about clients / throughput (16 clients at 100 req/s: 160 ms), and a p99
of 30 ms with 16 clients needs more than 530 req/s.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import bench_parser, recreate_database  # noqa: E402
from bench.support import ensure_database as create_database_if_missing  # noqa: E402
from bench.support.load import KINDS, run_clients  # noqa: E402
from bench.support.results import Recorder, add_run_options, quantile  # noqa: E402

parser = bench_parser(
    __doc__,
    env="BENCH_DATABASE_URL",
    database="oms_bench_api",
    why="this bench seeds up to 100,000 orders into its database",
)
parser.add_argument("--orders", type=int, help="orders in the table before the run (default 100,000)")
parser.add_argument("--clients", type=int, default=16)
parser.add_argument("--seconds", type=float, help="per phase (default 20)")
parser.add_argument(
    "--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn sync workers (2 per core)"
)
parser.add_argument(
    "--server-root", type=Path, help="serve the code of this checkout instead of this one (comparisons)"
)
parser.add_argument(
    "--phases",
    default="create,list,detail",
    help="which phases, in this order (default create,list,detail; e.g. list,detail to compare reads "
    "without the writes' queue in front of them)",
)
parser.add_argument(
    "--client",
    choices=KINDS,
    default="processes",
    help="processes: a forked process with http.client a client (default); threads: the former "
    "client, a thread with a requests Session a client in one process (bench/support/load.py)",
)
add_run_options(parser)
args = parser.parse_args()
if args.orders is None:
    args.orders = 5_000 if args.quick else 100_000
if args.seconds is None:
    args.seconds = 5.0 if args.quick else 20.0

ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "oms.settings.prod",
    "DATABASE_URL": args.database_url,
    "SECRET_KEY": "bench-" + "x" * 50,
    "FIELD_ENCRYPTION_KEY": "bench-field-key",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_HSTS_SECONDS": "0",
    "API_RATE_LIMIT": "10000000/min",
    "API_RATE_PER_TENANT": "10000000/min",
    "DB_CONN_MAX_AGE": "60",
    "LOG_LEVEL": "WARNING",
    # API keys cached in each worker as production caches them in Redis (oms/core/auth.py; the
    # bench changes no key while it runs), as bench/place.py does.
    "OMS_API_KEY_CACHE": "on",
    # Work a create enqueues (the release to a warehouse) is left in an embedded broker in a
    # directory of its own, as a worker process would find it; no worker runs it during the bench.
    "CELERY_TASK_ALWAYS_EAGER": "0",
    "CELERY_BROKER_URL": "filesystem://",
    "OMS_VAR_DIR": tempfile.mkdtemp(prefix="oms-bench-api-"),
}
os.environ.update(ENV)
SERVER_ROOT = (args.server_root or ROOT).resolve()


def ensure_database() -> None:
    import django
    from django.core.management import call_command

    create_database_if_missing(args.database_url)
    django.setup()
    # In-process: `manage.py migrate` runs the checks first, and on an empty database the
    # tenant-wall check (oms.E101) refuses before the migrations that satisfy it.
    call_command("migrate", verbosity=0)
    if seeded_before_sold_out_rule():
        from django.db import connections

        print("the database holds a seed of an earlier rule: seeding it again", flush=True)
        connections.close_all()
        recreate_database(args.database_url)
        call_command("migrate", verbosity=0)


SOLD_OUT = 50  # the last SOLD_OUT of the 500 SKUs have nothing on hand; backorders wait for them
SOLD_OUT_FROM = f"B-{500 - SOLD_OUT:04d}"


def seeded_before_sold_out_rule() -> bool:
    """A seed of an earlier rule: backorders on SKUs in stock, or lines of allocated, shipped or
    delivered orders that still wait for units."""
    from django.db.models import F

    from orders.models import OrderLine

    lines = OrderLine.objects.unscoped().filter(order__tenant__slug="bench")
    return (
        lines.filter(order__state="backordered", sku__stock_levels__on_hand__gt=0).exists()
        or lines.exclude(order__state="backordered")
        .filter(quantity__gt=F("quantity_allocated") + F("quantity_shipped"))
        .exists()
    )


def seed() -> str:
    import django

    django.setup()
    from django.db import transaction

    from inventory.models import SKU, StockLevel, Warehouse
    from oms.models import ApiKey, Tenant
    from oms.services import api_key_create
    from orders.models import Address, Customer, Order, OrderLine
    from orders.numbers import number_last_set, number_next

    tenant, _ = Tenant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    ApiKey.objects.for_tenant(tenant).filter(name="bench").delete()
    _, raw = api_key_create(tenant=tenant, name="bench")
    if not Warehouse.objects.for_tenant(tenant).exists():
        zips = [
            ("NJ", "07001", 40.58, -74.27),
            ("TX", "75201", 32.79, -96.80),
            ("CA", "90001", 33.97, -118.25),
        ]
        for code, postal, lat, lon in zips:
            Warehouse.objects.create(
                tenant=tenant, code=code, name=code, postal_code=postal, latitude=lat, longitude=lon
            )
        SKU.objects.bulk_create(
            [
                SKU(tenant=tenant, code=f"B-{i:04d}", name=f"Bench item {i}", price=Decimal("9.99"))
                for i in range(500)
            ]
        )
        levels = [
            StockLevel(
                tenant=tenant, sku=sku, warehouse=wh, on_hand=0 if sku.code >= SOLD_OUT_FROM else 1_000_000
            )
            for sku in SKU.objects.for_tenant(tenant)
            for wh in Warehouse.objects.for_tenant(tenant)
        ]
        StockLevel.objects.bulk_create(levels, batch_size=2000)
    have = Order.objects.for_tenant(tenant).count()
    missing = args.orders - have
    if missing > 0:
        print(f"seeding {missing} orders ...", flush=True)
        skus = list(SKU.objects.for_tenant(tenant))
        in_stock = [sku for sku in skus if sku.code < SOLD_OUT_FROM]
        sold_out = [sku for sku in skus if sku.code >= SOLD_OUT_FROM]
        started = time.monotonic()
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                [
                    Customer(tenant=tenant, email=f"c{have + i}@bench.test", name=f"C {i}")
                    for i in range(missing)
                ],
                batch_size=5000,
            )
            addresses = Address.objects.bulk_create(
                [
                    Address(
                        tenant=tenant, line1="1 Main St", city="Austin", postal_code="78701", country="US"
                    )
                    for _ in range(missing)
                ],
                batch_size=5000,
            )
            base = int(number_next(tenant))  # the seed's numbers follow it
            from django.utils import timezone

            now = timezone.now()
            orders = Order.objects.bulk_create(
                [
                    Order(
                        tenant=tenant,
                        channel="seed",
                        external_id=f"S-{have + i}",
                        number=str(base + i + 1),
                        currency="USD",
                        customer=customers[i],
                        ship_to=addresses[i],
                        bill_to=addresses[i],
                        subtotal=Decimal("19.98"),
                        total=Decimal("19.98"),
                        placed_at=now - timedelta(minutes=i),
                        state=random.choice(["allocated", "shipped", "delivered", "backordered"]),
                    )
                    for i in range(missing)
                ],
                batch_size=5000,
            )
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        tenant=tenant,
                        order=o,
                        sku=random.choice(sold_out if o.state == "backordered" else in_stock),
                        quantity=2,
                        quantity_allocated=2 if o.state == "allocated" else 0,
                        quantity_shipped=2 if o.state in ("shipped", "delivered") else 0,
                        unit_price=Decimal("9.99"),
                    )
                    for o in orders
                ],
                batch_size=5000,
            )
            number_last_set(tenant, base + missing)
        print(f"seeded in {time.monotonic() - started:.0f}s", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return raw


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_phase(name: str, base: str, key: str, make, seconds: float | None = None) -> dict[str, float]:
    seconds = args.seconds if seconds is None else seconds
    outcome = run_clients(args.client, base, key, make, clients=args.clients, seconds=seconds)
    latencies = sorted(outcome.latencies)
    return {
        "name": name,
        "requests": len(latencies),
        "errors": outcome.errors,
        "rps": len(latencies) / outcome.wall,
        "p50_ms": quantile(latencies, 50) * 1000,
        "p99_ms": quantile(latencies, 99) * 1000,
    }


def create_request(index: int, n: int) -> tuple[str, str, Any, int]:
    sku = f"B-{random.randrange(500):04d}"
    body = {
        "channel": "bench",
        "external_id": f"{os.getpid()}-{time.time_ns()}-{index}-{n}",
        "currency": "USD",
        "customer": {"email": f"load{index}@bench.test"},
        "ship_to": {"line1": "1 Main St", "city": "Austin", "postal_code": "78701", "country": "US"},
        "lines": [{"sku": sku, "quantity": 1, "unit_price": "9.99"}],
    }
    return "POST", "/api/v1/orders/", body, 201


def list_request(index: int, n: int) -> tuple[str, str, Any, int]:
    params = [{}, {"state": "allocated"}, {"channel": "seed", "limit": 100}, {"email": f"c{n}@bench.test"}][
        n % 4
    ]
    return "GET", "/api/v1/orders/" + (f"?{urlencode(params)}" if params else ""), None, 200


WARM_UP_SECONDS = 5.0
# The performance issue's targets, with 16 clients and 100,000 orders in the table.
RPS_TARGETS = {"order-create": ">= 150"}
P99_TARGETS = {"order-create": "<= 150", "order-list": "<= 50", "order-detail": "<= 30"}
ORDER_IDS: list[str] = []  # orders the detail phase reads (taken from the list before the runs)


def detail_request(index: int, n: int) -> tuple[str, str, Any, int]:
    return "GET", f"/api/v1/orders/{random.choice(ORDER_IDS)}/", None, 200


def collect_order_ids(base: str, key: str, pages: int = 5) -> list[str]:
    """Up to `pages` × 200 order ids, newest first, through the list endpoint."""
    import requests

    ids: list[str] = []
    url: str | None = f"{base}/api/v1/orders/?limit=200"
    headers = {"Authorization": f"Bearer {key}"}
    for _ in range(pages):
        if not url:
            break
        page = requests.get(url, headers=headers, timeout=60).json()
        ids += [str(row["id"]) for row in page["results"]]
        url = page["next"]
    return ids


def orders_in_table() -> int:
    from oms.models import Tenant
    from orders.models import Order

    return Order.objects.for_tenant(Tenant.objects.get(slug="bench")).count()


def main() -> int:
    recorder = Recorder.from_args(__file__, parser, args, database_url=args.database_url)
    ensure_database()
    key = seed()
    in_table = orders_in_table()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "oms.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ],
        cwd=SERVER_ROOT,
        env={**ENV, "DJANGO_SETTINGS_MODULE": "oms.settings.prod"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        for _ in range(100):
            try:
                requests.get(f"{base}/health", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        setting = (
            f"gunicorn workers={args.workers} (sync, oms.settings.prod, "
            f"DB_CONN_MAX_AGE={ENV['DB_CONN_MAX_AGE']}), clients={args.clients} ({args.client}), "
            f"{args.seconds:g} s per phase, {in_table:,} orders in the table at the start"
        )
        if SERVER_ROOT != ROOT:
            setting += f"; serving the code in {SERVER_ROOT}"
        print(setting, flush=True)
        recorder.note(f"{setting} (--orders {args.orders:,}).")
        ORDER_IDS.extend(collect_order_ids(base, key))
        every = {"create": ("order-create", create_request), "list": ("order-list", list_request)}
        every["detail"] = ("order-detail", detail_request)
        phases = [every[name.strip()] for name in args.phases.split(",")]
        for name, request in phases:  # workers' first requests import and connect: not measured
            run_phase(name, base, key, request, seconds=WARM_UP_SECONDS)
        errors = 0
        for run in range(1, recorder.runs + 1):
            for name, request in phases:
                phase = run_phase(name, base, key, request)
                errors += phase["errors"]
                print(
                    f"run {run} {phase['name']:>13}: {phase['rps']:7.1f} req/s  "
                    f"p50 {phase['p50_ms']:7.1f} ms  p99 {phase['p99_ms']:7.1f} ms  "
                    f"({phase['requests']} requests, {phase['errors']} errors)",
                    flush=True,
                )
                recorder.add(f"{name}: requests/s", phase["rps"], "req/s", target=RPS_TARGETS.get(name, ""))
                recorder.add(f"{name}: p50", phase["p50_ms"], "ms")
                recorder.add(f"{name}: p99", phase["p99_ms"], "ms", target=P99_TARGETS[name])
                recorder.add(f"{name}: errors", phase["errors"], "requests", target="== 0")
    finally:
        server.terminate()
        server.wait(timeout=20)
    recorder.finish(ok=errors == 0)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
