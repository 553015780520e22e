"""Order placement through the API, in-process on PostgreSQL: what one order costs, and how many fit.

Every order goes through the public entry only: POST /api/v1/orders/ with a Bearer API key and
an Idempotency-Key header, a body as /work/shared/API.md shows it (two lines, a new customer each
time, ship-to Austin TX), sent with Django's test Client, so middleware, authentication,
throttling, idempotency, validation, the service, allocation and the response's rendering all
run as in the web app (no HTTP server and no socket: the Client builds the WSGI request; the
bench does what a WSGI server does around each request and the Client does not: it calls
close_old_connections, so the connection's health check runs once per request). The
data is seeded through the API too (warehouses, SKUs, stock receipts); only the tenant and its
API keys are made directly. Anything other than 201 stops the bench with the response's body.

Per order, the median over --runs runs (default 3), each run with:
1. statements: --count-orders orders (default 20) with every statement counted on the
   connection (`connection.execute_wrapper`), by kind; commits counted as bench/support/sql.py
   says: a statement outside atomic blocks in autocommit mode is its own commit, and the
   statements inside atomic blocks commit once, when the outermost block calls
   `connection.commit()` (wrapped to count it, when a statement ran since the last commit).
   A read-only statement in autocommit mode is a commit too (without a WAL flush): the commits
   that wrote or locked rows are printed apart. The BEGIN/COMMIT psycopg sends and the health
   check's `SELECT 1` (one per request) are not among the statements. The first run also
   lists one order's statements by kind (--show-sql prints them).
2. core time: --core-orders orders (default 100) one after another, uncounted. Python = this
   process's CPU time (time.process_time: the request path and the test Client's own small
   share); PostgreSQL = the CPU time (utime + stime from /proc/<pid>/stat, in clock ticks) of
   this connection's backend (SELECT pg_backend_pid()) and of the outbox relay thread's (it
   publishes the placements' outbox rows after their commit on its own connection; its Python
   is in this process's CPU time), so PostgreSQL must run on this machine. Also printed: the
   time from each outbox row's commit to its message on the broker (p50 / p99), here and in
   the throughput phase. Not in it: the WAL writer's and the checkpointer's work for the
   commits, and the work of tasks the placement enqueues (the outbox rows are written and
   published to an in-memory broker, not run: a worker would run them; their number per order
   is printed).
3. throughput: 1 process, then 2 processes (fork; each its own connection and test Client),
   each placing --orders orders (default 200) after a warm-up, from one start line: orders/s =
   all orders / (last finished - first started); wall latency p50 / p99 of each order.
4. hot SKU: one SKU with exactly --hot-stock units (default 5) in one warehouse and
   --hot-clients concurrent placements (default 50 processes, forked, each with its own database
   connection, warmed before the start line by one placement of other SKUs, as the throughput
   phase warms its processes and as a web worker's kept connection is warm) of 1 unit each.
   Figures: the wall time from the start line to the last answer, and the units allocated
   (from the answers and from GET /api/v1/skus/<code>/availability/). The bench exits 1 unless
   exactly --hot-stock units
   were allocated and no stock row holds more allocated than on hand (the rest are backordered:
   the tenant allows backorders, as API.md says a tenant does by default).

Targets printed beside the figures: core <= 9 ms per order, <= 12 statements, 1 commit,
>= 200 orders/s with 2 processes, hot SKU < 1 s.

Settings: oms.settings.prod as gunicorn runs it (DEBUG off, persistent connections with health
checks), with the cache in-process (locmem) and an in-memory broker: no Redis is needed. API
keys are read from that cache (OMS_API_KEY_CACHE=on, as with Redis in production; the bench
changes no key while it measures).

Run: `.venv/bin/python bench/place.py` (options: --runs, --quick, --orders, --core-orders,
--count-orders, --hot-clients, --hot-stock, --skus, --show-sql, --fresh, --database-url). The
database (default postgres://postgres@127.0.0.1:5432/oms_bench_place, or
BENCH_PLACE_DATABASE_URL) is created when missing, migrated and seeded once, then kept: orders
pile up from run to run (the bench prints how many the table held); --fresh drops it first.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import bench_parser, ensure_database, is_postgres, recreate_database  # noqa: E402
from bench.support.results import Recorder, add_run_options, quantile  # noqa: E402

parser = bench_parser(
    __doc__,
    env="BENCH_PLACE_DATABASE_URL",
    database="oms_bench_place",
    why="this bench writes thousands of orders into its database",
)
parser.add_argument("--orders", type=int, help="orders per process in the throughput phase (default 200)")
parser.add_argument("--core-orders", type=int, help="orders timed for the CPU split (default 100)")
parser.add_argument("--count-orders", type=int, help="orders whose statements are counted (default 20)")
parser.add_argument("--hot-clients", type=int, default=50, help="concurrent placements on the hot SKU")
parser.add_argument("--hot-stock", type=int, default=5, help="units of the hot SKU in stock")
parser.add_argument("--skus", type=int, default=200, help="SKUs in the catalogue (two random ones an order)")
parser.add_argument("--show-sql", action="store_true", help="print one order's statements")
parser.add_argument("--fresh", action="store_true", help="drop and re-create the database first")
add_run_options(parser)
args = parser.parse_args()
QUICK = args.quick
ORDERS = args.orders or (30 if QUICK else 200)
CORE_ORDERS = args.core_orders or (20 if QUICK else 100)
COUNT_ORDERS = args.count_orders or (5 if QUICK else 20)
WARM_UP = 20

if not is_postgres(args.database_url):
    sys.exit("bench/place.py needs PostgreSQL: it reads the CPU time of the connection's backend")

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "oms.settings.prod",
        "DATABASE_URL": args.database_url,
        "SECRET_KEY": "bench-" + "x" * 50,
        "FIELD_ENCRYPTION_KEY": "bench-field-key",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "API_RATE_LIMIT": "100000000/min",
        "DB_CONN_MAX_AGE": "3600",  # one connection for the whole bench: its backend's CPU is read
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",  # the cache in-process
        "OMS_API_KEY_CACHE": "on",  # API keys cached as with Redis (this bench changes no key while it runs)
        "CELERY_BROKER_URL": "memory://localhost/",  # tasks published in memory, run by no one
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
)

AUSTIN = {"name": "Bench Buyer", "line1": "1 Main St", "city": "Austin", "region": "TX",
          "postal_code": "78701", "country": "US"}  # fmt: skip
WAREHOUSES = [
    {"code": "NJ", "name": "Bench NJ", "address": {"line1": "1 Dock Rd", "city": "Edison", "region": "NJ",
                                                   "postal_code": "07001", "country": "US"}},
    {"code": "TX", "name": "Bench TX", "address": {"line1": "2 Dock Rd", "city": "Dallas", "region": "TX",
                                                   "postal_code": "75201", "country": "US"}},
]  # fmt: skip
HOT_WAREHOUSE = "TX"
STOCK = 1_000_000  # units of each SKU in each warehouse: nothing backorders


class PlacementFailed(Exception):
    """An answer other than the one expected: the bench stops and shows it."""


# --- the API, as a storefront calls it ---------------------------------------------------------------
@dataclass(frozen=True)
class World:
    owner_key: str
    storefront_key: str
    skus: list[str]


class Storefront:
    """One API client (Django's test Client: the whole request path, no socket)."""

    def __init__(self, key: str) -> None:
        from django.test import Client

        self.client = Client(headers={"Authorization": f"Bearer {key}"})
        self.tag = uuid.uuid4().hex[:10]
        self.placed = 0

    def send(self, method: str, url: str, body: Any = None, *, expect: int, **headers: str) -> Any:
        from django.db import close_old_connections

        data = json.dumps(body) if body is not None else None
        call = getattr(self.client, method)
        # What a WSGI server's request_started / request_finished do, and the test Client leaves
        # out: the connection is checked (CONN_HEALTH_CHECKS) and closed when too old.
        close_old_connections()
        if data is None:
            response = call(url, headers=headers)
        else:
            response = call(url, data, content_type="application/json", headers=headers)
        close_old_connections()
        if response.status_code != expect:
            raise PlacementFailed(
                f"{method.upper()} {url} answered {response.status_code}, not {expect}:\n"
                f"{response.content.decode(errors='replace')[:4000]}\nbody sent: {data}"
            )
        return response

    def order(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """A new order's body: a new customer, ship-to Austin, the given lines."""
        self.placed += 1
        n = f"{self.tag}-{self.placed}"
        return {
            "channel": "bench",
            "external_id": f"P-{n}",
            "currency": "USD",
            "customer": {"email": f"buyer-{n}@bench.test", "name": "Bench Buyer"},
            "ship_to": AUSTIN,
            "service_level": "standard",
            "lines": lines,
            "shipping_price": "5.00",
        }

    def place(self, lines: list[dict[str, Any]]) -> Any:
        """POST /api/v1/orders/ with an Idempotency-Key; anything but 201 raises PlacementFailed."""
        return self.send(
            "post", "/api/v1/orders/", self.order(lines), expect=201, **{"Idempotency-Key": uuid.uuid4().hex}
        )

    def place_two_lines(self, skus: list[str]) -> Any:
        import random

        first, second = random.sample(skus, 2)
        return self.place(
            [
                {"sku": first, "quantity": 1, "unit_price": "9.99"},
                {"sku": second, "quantity": 2, "unit_price": "4.50"},
            ]
        )


# --- the database --------------------------------------------------------------------------------------
def prepare() -> World:
    """Migrated, with the bench tenant, its keys, 2 warehouses and --skus SKUs well stocked."""
    from django.core.management import call_command

    from oms.models import ApiKey, Role, Tenant
    from oms.services import api_key_create

    if args.fresh:
        recreate_database(args.database_url)
    else:
        ensure_database(args.database_url)
    # In-process: `manage.py migrate` runs the checks first, and on an empty database the
    # tenant-wall check refuses before the migrations that satisfy it.
    call_command("migrate", verbosity=0)
    tenant, _ = Tenant.objects.get_or_create(slug="bench-place", defaults={"name": "Bench placement"})
    ApiKey.objects.for_tenant(tenant).filter(name__startswith="bench ").delete()
    _, owner_key = api_key_create(tenant=tenant, name="bench owner", role=Role.OWNER)
    _, storefront_key = api_key_create(tenant=tenant, name="bench storefront", role=Role.MANAGER)
    owner = Storefront(owner_key)
    have = {row["code"] for row in owner.send("get", "/api/v1/warehouses/", expect=200).json()["results"]}
    for warehouse in WAREHOUSES:
        if warehouse["code"] not in have:
            owner.send("post", "/api/v1/warehouses/", warehouse, expect=201)
    codes = [f"PLACE-{i:04d}" for i in range(args.skus)]
    have, page = set(), "/api/v1/skus/?limit=200"
    while page:
        listed = owner.send("get", page, expect=200).json()
        have |= {row["code"] for row in listed["results"]}
        page = listed["next"]
    missing = [c for c in codes if c not in have]
    if missing:
        print(f"seeding {len(missing)} SKUs with {STOCK:,} units in each warehouse ...", flush=True)
    for code in missing:
        owner.send(
            "post", "/api/v1/skus/", {"code": code, "name": f"Bench {code}", "price": "9.99"}, expect=201
        )
        for warehouse in WAREHOUSES:
            receipt = {"sku": code, "warehouse": warehouse["code"], "delta": STOCK, "reason": "receipt"}
            owner.send("post", "/api/v1/stock/adjustments/", receipt, expect=200)
    analyze()
    return World(owner_key, storefront_key, codes)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def orders_in_table() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_order")
        return int(cursor.fetchone()[0])


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def outbox_rows() -> dict[str, int]:
    """Outbox rows by task name: the work placements leave to workers."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT task, count(*) FROM oms_outboxmessage GROUP BY task")
        return {task: int(n) for task, n in cursor.fetchall()}


# --- 1. statements and commits ---------------------------------------------------------------------
def count_statements(store: Storefront, world: World, recorder: Recorder, *, show: bool) -> None:
    from django.db import connection

    from bench.support.sql import KINDS, SqlCounter

    if show:
        with SqlCounter(connection, keep_sql=True) as one:
            store.place_two_lines(world.skus)
        kinds = ", ".join(f"{kind} {one.kinds[kind]}" for kind in KINDS)
        said = (
            f"{one.statements} statements ({kinds}); {one.commits} commits, {one.writing_commits} of them "
            f"writing; {one.rollbacks} rollbacks"
        )
        print(f"one order: {said}", flush=True)
        recorder.note(f"One order: {said}.")
        if args.show_sql:
            for n, sql in enumerate(one.sql, 1):
                print(f"  {n:>2}. {' '.join(sql.split())[:200]}")
    from oms.core import outbox

    tasks_before = outbox_rows()
    outbox.relay_thread.wait_idle(30)
    batches_before = outbox.kick_stats.batches
    with SqlCounter(connection) as counted:
        for _ in range(COUNT_ORDERS):
            store.place_two_lines(world.skus)
    outbox.relay_thread.wait_idle(30)
    batches = outbox.kick_stats.batches - batches_before
    tasks_after = outbox_rows()
    n = COUNT_ORDERS
    recorder.add("statements per order", counted.statements / n, "statements", target="<= 12")
    recorder.add("commits per order", counted.commits / n, "commits", target="<= 1")
    recorder.add("writing commits per order (WAL flush)", counted.writing_commits / n, "commits")
    recorder.add("rollbacks per order", counted.rollbacks / n, "rollbacks")
    recorder.add("health-check pings per order (not in statements)", counted.health_checks / n, "pings")
    enqueued = {t: tasks_after.get(t, 0) - tasks_before.get(t, 0) for t in tasks_after}
    recorder.add("tasks enqueued per order (not run)", sum(enqueued.values()) / n, "tasks")
    recorder.add("outbox relay batches per order (off the request path)", batches / n, "batches")
    if show:
        named = ", ".join(f"{t} {v / n:g}" for t, v in sorted(enqueued.items()) if v) or "none"
        recorder.note(f"Tasks enqueued per order (outbox rows, run by no worker here): {named}.")
        recorder.note(
            "The outbox relay thread sends those rows after the commit on its own connection: they were "
            "written leased to it, so 1 statement (1 commit, marking them sent) per batch, not among the "
            "statements counted above; its Python and PostgreSQL CPU are in the core time."
        )


# --- 2. core time ------------------------------------------------------------------------------------
def core_time(store: Storefront, world: World, recorder: Recorder) -> None:
    from bench.support.cpu import process_seconds
    from oms.core import outbox

    store.place_two_lines(world.skus)  # the relay thread runs, with its connection open
    outbox.relay_thread.wait_idle(30)
    pid = backend_pid()
    relay = relay_backend_pid()
    pids = [pid] + ([relay] if relay else [])
    outbox.kick_stats.latencies.clear()
    python_before, postgres_before = time.process_time(), sum(process_seconds(p) for p in pids)
    for _ in range(CORE_ORDERS):
        store.place_two_lines(world.skus)
    outbox.relay_thread.wait_idle(30)  # the rows these orders committed are on the broker
    python = (time.process_time() - python_before) / CORE_ORDERS * 1000
    postgres = (sum(process_seconds(p) for p in pids) - postgres_before) / CORE_ORDERS * 1000
    if backend_pid() != pid or relay_backend_pid() != relay:
        raise PlacementFailed("a connection was re-opened during the timed orders: its CPU time is lost")
    recorder.add("core: Python CPU per order", python, "ms")
    recorder.add("core: PostgreSQL backend CPU per order", postgres, "ms")
    recorder.add("core: Python + PostgreSQL per order", python + postgres, "ms", target="<= 9")
    relay_latency(recorder, ", one client")


def relay_backend_pid() -> int | None:
    """The outbox relay thread's backend (None when the kick relays inline)."""
    from oms.core import outbox

    return outbox.relay_thread.backend_pid


def relay_latency(recorder: Recorder, label: str, latencies: list[float] | None = None) -> None:
    """Commit to message on the broker, for the outbox rows the placements wrote."""
    from oms.core import outbox

    seen = sorted(latencies if latencies is not None else outbox.kick_stats.latencies)
    if not seen:
        return
    recorder.add(f"outbox relay: commit to broker p50{label}", quantile(seen, 50) * 1000, "ms")
    recorder.add(f"outbox relay: commit to broker p99{label}", quantile(seen, 99) * 1000, "ms")


# --- 3. throughput -----------------------------------------------------------------------------------
def _placing_process(world: World, count: int, start: Any, results: Any) -> None:
    """In a child process: warm up, wait at the start line, place `count` orders, report."""
    from django.db import connection

    from oms.core import outbox

    try:
        store = Storefront(world.storefront_key)
        for _ in range(WARM_UP):
            store.place_two_lines(world.skus)
        start.wait()
        outbox.kick_stats.latencies.clear()
        latencies = []
        began = time.monotonic()
        for _ in range(count):
            sent = time.perf_counter()
            store.place_two_lines(world.skus)
            latencies.append(time.perf_counter() - sent)
        ended = time.monotonic()
        outbox.relay_thread.wait_idle(30)
        relayed = list(outbox.kick_stats.latencies)
        results.put({"began": began, "ended": ended, "latencies": latencies, "relayed": relayed})
    except Exception as exc:  # the parent prints it and stops
        start.abort()
        results.put({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        connection.close()


def throughput(world: World, processes: int, recorder: Recorder) -> None:
    from django.db import connections

    from oms.core import outbox

    connections.close_all()  # a child must not share the parent's socket
    outbox.relay_thread.stop()  # nor the relay thread's (it starts again on the next commit)
    context = multiprocessing.get_context("fork")
    start = context.Barrier(processes)
    results = context.Queue()
    children = [
        context.Process(target=_placing_process, args=(world, ORDERS, start, results))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    reports = [results.get() for _ in children]
    for child in children:
        child.join()
    errors = [r["error"] for r in reports if "error" in r]
    if errors:
        raise PlacementFailed("\n".join(errors))
    wall = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    latencies = sorted(x for r in reports for x in r["latencies"])
    label = f"{processes} process{'es' if processes > 1 else ''}"
    target = ">= 200" if processes == 2 else ""
    recorder.add(f"orders/s, {label}", len(latencies) / wall, "orders/s", target=target)
    recorder.add(f"latency p50, {label}", quantile(latencies, 50) * 1000, "ms")
    recorder.add(f"latency p99, {label}", quantile(latencies, 99) * 1000, "ms")
    relay_latency(recorder, f", {label}", [x for r in reports for x in r["relayed"]])


# --- 4. the hot SKU ------------------------------------------------------------------------------------
def _hot_client(world: World, code: str, start: Any, results: Any) -> None:
    """In a child process: warm the connection (a new PostgreSQL backend reads the catalog on its
    first statements), wait at the start line, place 1 unit of `code`."""
    from django.db import connection

    from oms.core import outbox

    try:
        store = Storefront(world.storefront_key)
        store.place_two_lines(world.skus)  # this process's own connection, warm before the start
        outbox.relay_thread.stop()  # and its relay's connection closed: 50 of each would be too many
        start.wait()
        began = time.monotonic()
        body = store.place([{"sku": code, "quantity": 1, "unit_price": "9.99"}]).json()
        results.put({"began": began, "ended": time.monotonic(), "body": body})
        outbox.relay_thread.wait_idle(10)
    except threading.BrokenBarrierError:
        results.put({"error": "the start line broke"})
    except Exception as exc:  # the parent prints it and stops
        start.abort()
        results.put({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        connection.close()


def hot_sku(world: World, recorder: Recorder) -> bool:
    """--hot-clients placements of 1 unit of a SKU with --hot-stock units, each from its own process
    (so the figure measures the stock row's lock, not the GIL). True when none oversold."""
    from django.db import connections

    from oms.core import outbox

    owner = Storefront(world.owner_key)
    code = f"HOT-{uuid.uuid4().hex[:8]}"
    owner.send("post", "/api/v1/skus/", {"code": code, "name": "Hot item", "price": "9.99"}, expect=201)
    receipt = {"sku": code, "warehouse": HOT_WAREHOUSE, "delta": args.hot_stock, "reason": "receipt"}
    owner.send("post", "/api/v1/stock/adjustments/", receipt, expect=200)

    clients = args.hot_clients
    connections.close_all()  # a child must not share the parent's socket
    outbox.relay_thread.stop()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(clients)
    results = context.Queue()
    children = [
        context.Process(target=_hot_client, args=(world, code, start, results)) for _ in range(clients)
    ]
    for child in children:
        child.start()
    reports = [results.get() for _ in children]
    for child in children:
        child.join()
    errors = sorted({r["error"] for r in reports if "error" in r})
    if errors:
        raise PlacementFailed("\n".join(errors))
    answers = [r["body"] for r in reports]
    wall = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    allocated = sum(line["allocated"] for body in answers for line in body["lines"])
    availability = owner.send("get", f"/api/v1/skus/{code}/availability/", expect=200).json()
    rows = availability["warehouses"]
    stock_allocated = sum(row["allocated"] for row in rows)
    oversold = [row for row in rows if row["allocated"] > row["on_hand"]]
    recorder.add(
        f"hot SKU: {clients} placements of 1 unit, {args.hot_stock} in stock: wall time",
        wall,
        "s",
        target="< 1",
    )
    recorder.add("hot SKU: units allocated", allocated, "units", target=f"== {args.hot_stock}")
    ok = allocated == args.hot_stock and stock_allocated == args.hot_stock and not oversold
    print(
        f"   hot SKU {code}: {len(answers)} orders placed in {wall:.2f} s; allocated {allocated} "
        f"(the stock row says {stock_allocated}), "
        f"{sum(line['backordered'] for body in answers for line in body['lines'])} backordered; "
        f"{'OK' if ok else 'WRONG: oversold or short, ' + json.dumps(rows)}",
        flush=True,
    )
    return ok


# --- the bench ------------------------------------------------------------------------------------------
def main() -> int:
    recorder = Recorder.from_args(__file__, parser, args, database_url=args.database_url)

    import django

    django.setup()

    world = prepare()
    print(
        f"PostgreSQL database {args.database_url.rsplit('/', 1)[-1]}: {orders_in_table():,} orders in the "
        f"table at the start; {len(world.skus)} SKUs in 2 warehouses",
        flush=True,
    )
    recorder.note(
        f"Each run: {COUNT_ORDERS} orders counted, {CORE_ORDERS} timed, {ORDERS} per process for "
        f"orders/s, {args.hot_clients} hot-SKU placements (processes); two-line orders, each from a new "
        "customer, through POST /api/v1/orders/ (Django's test Client, oms.settings.prod, locmem cache, "
        "in-memory broker)."
    )
    hot_ok = True
    try:
        store = Storefront(world.storefront_key)
        for _ in range(WARM_UP):  # imports, caches, the connection: not measured
            store.place_two_lines(world.skus)
        for run in range(1, recorder.runs + 1):
            print(f"run {run} of {recorder.runs} ...", flush=True)
            count_statements(store, world, recorder, show=run == 1)
            core_time(store, world, recorder)
            for processes in (1, 2):
                throughput(world, processes, recorder)
            hot_ok = hot_sku(world, recorder) and hot_ok
    except PlacementFailed as exc:
        recorder.note(f"FAILED: {str(exc).splitlines()[0]}")
        recorder.finish(ok=False)
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    recorder.finish(ok=hot_ok)
    if not hot_ok:
        print(f"FAILED: the hot SKU was not allocated exactly {args.hot_stock} units", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
