"""Cost growth with tenants: one order's core time with 1 tenant and with 1,000 tenants, same rows.

Two groups of tenants live in one PostgreSQL database, with the same number of rows each:
- solo: 1 tenant with --tenants x --skus-per-tenant SKUs (default 1,000 x 2 = 2,000);
- many: --tenants tenants (default 1,000), each with --skus-per-tenant SKUs;
each tenant with 2 warehouses and every SKU stocked in both (so the many group has 1,000 times
the warehouses: a warehouse belongs to one tenant). Each run places --orders orders (default
200) in each group, so the orders tables grow alike: the solo tenant places all of its own, and
in the many group each order comes from the next tenant in turn (a platform whose requests are
spread over its tenants: each tenant is seen once every --tenants orders). Before the timed
orders, a warm-up places one order for every tenant of the many group (its first order makes
its order-number counter; its key's first use records it) and as many for the solo tenant.
The groups alternate, solo first, within each run.

What is per tenant and kept for a time is warm or cold depending on how far apart one tenant's
orders are: two such things expire after 60 s (an API key's `last_used_at` is written at most
once a minute; notifications/preferences.py keeps a tenant's webhook and email choices 60 s).
At the figures' pace a tenant of the many group is seen every 20-60 s, about that limit.

Orders go through the same code path as bench/place.py, with its helpers (its `Storefront`:
POST /api/v1/orders/ with a Bearer key and an Idempotency-Key, Django's test Client,
oms.settings.prod, locmem cache, in-memory broker): the core time per order is this process's
CPU time plus the CPU time of the connection's PostgreSQL backend, as place.py measures it. The
figure to watch is the ratio many / solo: the target is within 10 % (0.90 to 1.10).

Run: `.venv/bin/python bench/tenants.py` (options: --tenants, --skus-per-tenant, --orders,
--runs, --quick, --database-url). The database (default oms_bench_tenants,
BENCH_TENANTS_DATABASE_URL) is created when missing, migrated and seeded once through the
inventory services (tenants, warehouses, SKUs, stock receipts), then kept; --fresh drops it
first. --quick: 50 orders per group, 1 run.
"""

from __future__ import annotations

import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import bench_parser, ensure_database, is_postgres, recreate_database  # noqa: E402
from bench.support.results import Recorder, add_run_options  # noqa: E402

parser = bench_parser(
    __doc__,
    env="BENCH_TENANTS_DATABASE_URL",
    database="oms_bench_tenants",
    why="this bench makes a thousand tenants and their orders in its database",
)
parser.add_argument("--tenants", type=int, default=1000, help="tenants in the many group")
parser.add_argument("--skus-per-tenant", type=int, default=2, help="SKUs of each tenant of the many group")
parser.add_argument("--orders", type=int, help="orders timed per group and run (default 200)")
parser.add_argument("--fresh", action="store_true", help="drop and re-create the database first")
add_run_options(parser)
args = parser.parse_args()
ORDERS = args.orders or (50 if args.quick else 200)
WARM_UP = 20

if not is_postgres(args.database_url):
    sys.exit("bench/tenants.py needs PostgreSQL: it reads the CPU time of the connection's backend")

# bench/place.py reads its options when imported: give it this bench's database, nothing else.
_argv, sys.argv = sys.argv, [str(ROOT / "bench" / "place.py"), "--database-url", args.database_url]
from bench import place  # noqa: E402  (sets the environment: oms.settings.prod, locmem, memory broker)

sys.argv = _argv
os.environ["API_RATE_PER_TENANT"] = "100000000/min"  # the bench places far more than a tenant may


def seed_tenant(slug: str, skus: int) -> tuple[str, list[str]]:
    """A tenant with its API key, 2 warehouses and `skus` SKUs stocked in both.

    Made through the inventory services the API calls (not over the API: a thousand tenants'
    catalogues take 15,000 requests), once; the orders are placed through the API.
    """
    from django.db import transaction

    from inventory.services import sku_create, stock_receive, warehouse_create
    from oms.models import ApiKey, Role, Tenant
    from oms.services import api_key_create

    tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": slug})
    ApiKey.objects.for_tenant(tenant).filter(name="bench owner").delete()
    _, key = api_key_create(tenant=tenant, name="bench owner", role=Role.OWNER)
    codes = [f"T-{i:05d}" for i in range(skus)]
    if created:
        with transaction.atomic():
            warehouses = [
                warehouse_create(tenant=tenant, code=w["code"], name=w["name"], **w["address"])
                for w in place.WAREHOUSES
            ]
            for code in codes:
                sku = sku_create(tenant=tenant, code=code, name=code, price=Decimal("9.99"))
                for warehouse in warehouses:
                    stock_receive(
                        tenant=tenant, sku_id=sku.pk, warehouse_id=warehouse.pk, quantity=place.STOCK
                    )
    return key, codes


def prepare() -> tuple[list[tuple[Any, list[str]]], list[tuple[Any, list[str]]]]:
    """The solo group's and the many group's storefronts, each with its SKU codes."""
    from django.core.management import call_command

    if args.fresh:
        recreate_database(args.database_url)
    else:
        ensure_database(args.database_url)
    call_command("migrate", verbosity=0)
    began = time.monotonic()
    key, codes = seed_tenant("bench-solo", args.tenants * args.skus_per_tenant)
    solo = [(place.Storefront(key), codes)]
    many = []
    for n in range(args.tenants):
        key, codes = seed_tenant(f"bench-many-{n:04d}", args.skus_per_tenant)
        many.append((place.Storefront(key), codes))
    print(f"{1 + args.tenants} tenants ready in {time.monotonic() - began:.0f} s", flush=True)
    place.analyze()
    return solo, many


def place_round(group: list[tuple[Any, list[str]]], count: int, start: int) -> None:
    for n in range(count):
        store, codes = group[(start + n) % len(group)]
        store.place_two_lines(codes)


def core_ms(group: list[tuple[Any, list[str]]], start: int) -> tuple[float, float]:
    """Python and PostgreSQL CPU ms per order over ORDERS orders of `group`."""
    from bench.support.cpu import process_seconds

    pid = place.backend_pid()
    python_before, postgres_before = time.process_time(), process_seconds(pid)
    place_round(group, ORDERS, start)
    python = (time.process_time() - python_before) / ORDERS * 1000
    postgres = (process_seconds(pid) - postgres_before) / ORDERS * 1000
    if place.backend_pid() != pid:
        raise place.PlacementFailed("the connection was re-opened during the timed orders: CPU time lost")
    return python, postgres


def main() -> int:
    recorder = Recorder.from_args(__file__, parser, args, database_url=args.database_url)

    import django

    django.setup()

    solo, many = prepare()
    recorder.note(
        f"Each run: {ORDERS} two-line orders timed per group, through POST /api/v1/orders/ as bench/place.py "
        f"places them; solo: 1 tenant with {args.tenants * args.skus_per_tenant} SKUs; many: "
        f"{args.tenants} tenants with {args.skus_per_tenant} SKUs each, one order per tenant in turn. "
        f"{place.orders_in_table():,} orders in the table at the start."
    )
    try:
        # Every tenant's first order (its order-number counter is made then) and every key's first
        # use are not measured: as many orders in the solo group, so both tables grow alike.
        warm_up = max(WARM_UP, len(many))
        print(f"warm-up: {warm_up} orders in each group ...", flush=True)
        place_round(solo, warm_up, 0)
        place_round(many, warm_up, 0)
        offset = warm_up
        for run in range(1, recorder.runs + 1):
            print(f"run {run} of {recorder.runs} ...", flush=True)
            figures = {}
            for name, group in (("1 tenant", solo), (f"{args.tenants} tenants", many)):
                python, postgres = core_ms(group, offset)
                figures[name] = python + postgres
                recorder.add(f"core: Python CPU per order, {name}", python, "ms")
                recorder.add(f"core: PostgreSQL backend CPU per order, {name}", postgres, "ms")
                recorder.add(f"core: Python + PostgreSQL per order, {name}", python + postgres, "ms")
            offset += ORDERS
            one, spread = figures["1 tenant"], figures[f"{args.tenants} tenants"]
            recorder.add(f"core ratio, {args.tenants} tenants / 1 tenant", spread / one, "x", target="<= 1.1")
            said = f"1 tenant {one:.2f} ms, {args.tenants} tenants {spread:.2f} ms: x{spread / one:.3f}"
            print(f"   {said}", flush=True)
    except place.PlacementFailed as exc:
        recorder.note(f"FAILED: {str(exc).splitlines()[0]}")
        recorder.finish(ok=False)
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    recorder.finish(ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
