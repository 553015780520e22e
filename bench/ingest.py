"""Marketplace ingest: signed Shopify webhooks in, allocated orders out, per second and latency.

A fresh PostgreSQL database gets one tenant with 4 warehouses × 200 SKUs (a million units of
each in each: nothing backorders), a Shopify channel account with a webhook secret, and
FulfillmentSettings.auto_release off, so what is measured is ingest + allocation (no shipments,
no labels). The web app runs under gunicorn and the work under one `celery -A oms worker -c N`
(N prefork processes, --workers, default 2) on every queue, against that database and Redis
(its broker queues purged first; no beat: the outbox relays each task on commit).

--webhooks distinct orders/create deliveries (default 5,000; REST Order bodies of 1-3 line
items made by the fake Shopify, each with its own order id and X-Shopify-Event-Id, signed with
X-Shopify-Hmac-Sha256) are POSTed to /webhooks/shopify/<token>/ by --clients threads (default
4), as fast as the web app answers (or at --rate per second). Each order's latency runs from
the moment its webhook was sent to its "allocated" OrderEvent (written by the allocation, in
the inbox task's transaction: the webhook is stored, `inbound_event_process_task` on queue
`ingest` creates the order and allocates it at once). Prints orders allocated per second
(orders / (last allocated - first sent)), latency p50 / p99 / max, the webhook POSTs' own
answer time p50 / p99, and the load it ran under. With --runs N (or --repeat N): N runs, each on
a fresh copy of the seeded database, then the median and spread of each figure
(bench/support/results.py). One run by default: a run of 5,000 webhooks takes about ten minutes
on a loaded 2-core machine. --quick: 300 webhooks unless given.

Run: `.venv/bin/python bench/ingest.py` (options: --webhooks, --clients, --workers,
--web-workers, --rate, --runs, --quick, --stall-timeout, --database-url, --redis-url,
--broker-url). The
database (default postgres://postgres@127.0.0.1:5432/oms_bench_ingest, or
BENCH_INGEST_DATABASE_URL) is dropped and re-created; it must be PostgreSQL. Redis: the cache on
db 10 and the broker on db 11 of 127.0.0.1:6379 by default (BENCH_INGEST_REDIS_URL,
BENCH_INGEST_BROKER_URL). Client, web app, workers, PostgreSQL and Redis share this machine's
cores, so the figures are a floor.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import bench_parser, copy_database, drop_database, is_postgres, recreate_database  # noqa: E402
from bench.support.cpu import cpu_snapshot, cpu_use  # noqa: E402
from bench.support.results import Recorder, add_run_options  # noqa: E402

parser = bench_parser(
    __doc__,
    env="BENCH_INGEST_DATABASE_URL",
    database="oms_bench_ingest",
    why="this bench drops and re-creates its database",
)
parser.add_argument(
    "--redis-url",
    default=os.environ.get("BENCH_INGEST_REDIS_URL", "redis://127.0.0.1:6379/10"),
    help="the app's cache (REDIS_URL)",
)
parser.add_argument(
    "--broker-url",
    default=os.environ.get("BENCH_INGEST_BROKER_URL", "redis://127.0.0.1:6379/11"),
    help="Celery's broker (CELERY_BROKER_URL); its queues are purged before each run",
)
parser.add_argument(
    "--webhooks", type=int, help="orders/create deliveries, one order each (default 5,000, --quick 300)"
)
parser.add_argument("--clients", type=int, default=4, help="threads POSTing the webhooks")
parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (-c)")
parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
parser.add_argument(
    "--rate", type=float, default=0.0, help="webhooks per second across the clients (0: as fast as answered)"
)
add_run_options(parser, default_runs=1, why="a run of 5,000 webhooks takes about ten minutes")
parser.add_argument("--repeat", type=int, dest="runs", help="the same as --runs")
parser.add_argument(
    "--stall-timeout",
    type=float,
    default=180.0,
    help="give up when no webhook has been processed for this many seconds",
)
parser.add_argument("--skus", type=int, default=200)
parser.add_argument("--seed", type=int, default=10)
args = parser.parse_args()
args.webhooks = args.webhooks or (300 if args.quick else 5_000)

ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "oms.settings.prod",
    "DATABASE_URL": args.database_url,
    "REDIS_URL": args.redis_url,
    "CELERY_BROKER_URL": args.broker_url,
    "CELERY_TASK_ALWAYS_EAGER": "0",
    "SECRET_KEY": "bench-" + "x" * 50,
    "FIELD_ENCRYPTION_KEY": "bench-field-key",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_HSTS_SECONDS": "0",
    "DB_CONN_MAX_AGE": "60",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)

QUEUES = "default,ingest,allocation,labels,sync,notifications"
SECRET = "shpss_bench_webhook_secret"
# (ZIP, city, state) of the ship-tos; warehouses in NJ, IL, TX and CA.
SHIP_TOS = [
    ("10001", "New York", "NY"), ("02108", "Boston", "MA"), ("19103", "Philadelphia", "PA"),
    ("30303", "Atlanta", "GA"), ("33101", "Miami", "FL"), ("60606", "Chicago", "IL"),
    ("55401", "Minneapolis", "MN"), ("63101", "St. Louis", "MO"), ("75201", "Dallas", "TX"),
    ("78701", "Austin", "TX"), ("80202", "Denver", "CO"), ("85004", "Phoenix", "AZ"),
    ("90001", "Los Angeles", "CA"), ("94105", "San Francisco", "CA"), ("97201", "Portland", "OR"),
    ("98101", "Seattle", "WA"),
]  # fmt: skip
WAREHOUSES = [("NJ", "07001"), ("IL", "60606"), ("TX", "75201"), ("CA", "90001")]
ANALYZE_SECONDS = 30


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # `kill` of the bench: stop what it started on the way out


# --- setup ----------------------------------------------------------------------------------------
def redis_reachable(url: str) -> str:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:  # any failure means the bench cannot run
        return f"{type(exc).__name__}: {exc}"
    return ""


@dataclass(frozen=True)
class World:
    tenant_id: int
    token: str
    sku_codes: list[str]


def migrate_and_seed() -> World:
    """The bench database, afresh: migrated, one tenant, warehouses, SKUs, stock, a Shopify account."""
    from django.core.management import call_command
    from django.db import connection

    from fulfillment.models import FulfillmentSettings
    from integrations.models import ChannelAccount
    from inventory.geo import geocode
    from inventory.models import SKU, StockLevel, Warehouse
    from oms.models import Tenant

    connection.close()
    recreate_database(args.database_url)
    # In-process: `manage.py migrate` runs the database checks first, and on an empty database
    # the tenant-wall check (oms.E101) refuses before the migrations that satisfy it.
    call_command("migrate", verbosity=0)
    tenant = Tenant.objects.create(slug="bench-ingest", name="Bench ingest")
    FulfillmentSettings.objects.update_or_create(tenant=tenant, defaults={"auto_release": False})
    warehouses = []
    for code, zip_code in WAREHOUSES:
        lat, lon = geocode("US", zip_code) or (None, None)
        warehouses.append(
            Warehouse.objects.create(
                tenant=tenant,
                code=code,
                name=f"Warehouse {code}",
                postal_code=zip_code,
                latitude=lat,
                longitude=lon,
            )
        )
    skus = SKU.objects.bulk_create(
        [
            SKU(tenant=tenant, code=f"SHOP-{i:04d}", name=f"Shop item {i}", price=Decimal("19.90"))
            for i in range(args.skus)
        ]
    )
    StockLevel.objects.bulk_create(
        [
            StockLevel(tenant=tenant, sku=sku, warehouse=wh, on_hand=1_000_000)
            for sku in skus
            for wh in warehouses
        ],
        batch_size=2000,
    )
    account = ChannelAccount.objects.create(
        tenant=tenant, kind="shopify", name="bench shop", credentials="shpat_bench", webhook_secret=SECRET
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    world = World(tenant.pk, account.webhook_token, [s.code for s in skus])
    connection.close()
    return world


def purge_broker() -> None:
    """Empty the broker's queues (and what an earlier run's workers left unacknowledged)."""
    import contextlib

    import redis
    from celery import Celery

    app = Celery("oms-bench-purge", broker=args.broker_url, set_as_current=False)
    app.conf.broker_write_url = app.conf.broker_read_url = args.broker_url
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in QUEUES.split(","):
            with contextlib.suppress(Exception):  # a queue that does not exist yet is empty
                channel.queue_purge(queue)
    redis.Redis.from_url(args.broker_url).delete("unacked", "unacked_index", "unacked_mutex")


# --- the webhooks ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    order_id: str
    event_id: str
    body: bytes
    headers: dict[str, str]


def make_deliveries(count: int, sku_codes: list[str], rng: random.Random) -> list[Delivery]:
    """Signed orders/create deliveries of `count` distinct shop orders (REST Order bodies)."""
    from integrations.shopify.fake_server import API_VERSION, DEFAULT_ADDRESS, SHOP_DOMAIN, FakeShopify, sign

    shop = FakeShopify()  # not started: only its order generator is used
    deliveries = []
    for n in range(count):
        zip_code, city, state = rng.choice(SHIP_TOS)
        items = [
            {
                "sku": code,
                "quantity": rng.randint(1, 3),
                "price": f"{rng.randint(5, 120)}.{rng.choice(['00', '50', '99'])}",
            }
            for code in rng.sample(sku_codes, rng.randint(1, 3))
        ]
        address = {
            **DEFAULT_ADDRESS,
            "first_name": "Buyer",
            "last_name": str(n),
            "name": f"Buyer {n}",
            "address1": f"{rng.randint(1, 9999)} Main St",
            "city": city,
            "province": state,
            "province_code": state,
            "zip": zip_code,
        }
        order = shop.create_order(line_items=items, email=f"buyer{n}@bench.example", shipping_address=address)
        body = json.dumps(order).encode()
        event_id = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Shopify-Captain-Hook",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": SHOP_DOMAIN,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": event_id,
            "X-Shopify-Triggered-At": order["created_at"],
            "X-Shopify-Hmac-Sha256": sign(SECRET, body),
        }
        deliveries.append(Delivery(str(order["id"]), event_id, body, headers))
    return deliveries


@dataclass
class Sent:
    sent_at: dict[str, float] = field(default_factory=dict)  # order id -> wall clock when POSTed
    answer_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    first: float = 0.0
    last: float = 0.0


def send(url: str, deliveries: list[Delivery]) -> Sent:
    import requests

    sent = Sent()
    lock = threading.Lock()
    cursor = iter(range(len(deliveries)))
    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    began = time.monotonic()

    def client() -> None:
        session = requests.Session()
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            if interval:
                pause = began + index * interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            delivery = deliveries[index]
            at = time.time()
            started = time.perf_counter()
            try:
                response = session.post(url, data=delivery.body, headers=delivery.headers, timeout=60)
                problem = (
                    "" if response.status_code == 200 else f"{response.status_code} {response.text[:200]}"
                )
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - started
            with lock:
                sent.sent_at[delivery.order_id] = at
                sent.answer_seconds.append(elapsed)
                if problem:
                    sent.errors.append(f"order {delivery.order_id}: {problem}")

    threads = [threading.Thread(target=client, name=f"client-{i}", daemon=True) for i in range(args.clients)]
    sent.first = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent.last = time.time()
    return sent


# --- the processes ---------------------------------------------------------------------------------
class Processes:
    """gunicorn and the Celery worker, each in a session of its own, stopped together."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen[bytes], Any]] = []

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command, cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append((name, process, log))
        return process

    def groups(self) -> dict[str, int]:
        """Each started process's name and its process group (it leads a session of its own)."""
        return {name: process.pid for name, process, _ in self.started}

    def dead(self) -> str:
        for name, process, _ in self.started:
            if process.poll() is not None:
                return f"{name} exited ({process.returncode}); see {self.log_dir / (name + '.log')}"
        return ""

    def stop(self) -> None:
        for _, process, _ in self.started:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for _, process, log in self.started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            _signal_group(process, signal.SIGKILL)  # a pool child left behind by its parent
            log.close()
        self.started.clear()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the session it was started in: only what this bench started
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_ready(base: str, processes: Processes) -> None:
    """The web app answers and the worker consumes (its heartbeat row is written)."""
    import requests

    from oms.models import WorkerHeartbeat

    deadline = time.monotonic() + 120
    web = worker = False
    while time.monotonic() < deadline:
        if problem := processes.dead():
            raise RuntimeError(problem)
        if not web:
            try:
                requests.get(f"{base}/health", timeout=5)
                web = True
            except requests.RequestException:
                pass
        worker = worker or WorkerHeartbeat.objects.exists()
        if web and worker:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the web app or the worker did not start within 120 s; logs in {processes.log_dir}")


def autovacuum_on() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0] == "on"


def wait_for_orders(tenant_id: int, expected: int, processes: Processes) -> dict[str, int]:
    """Until every accepted webhook's event is done (processed, ignored or dead). Returns the states.

    On a server with autovacuum off, the tables are analyzed every ANALYZE_SECONDS meanwhile, as
    autovacuum would: plans made for the empty tables of the seed would scan every order.
    """
    from django.db import connection
    from django.db.models import Count

    from integrations.models import InboundEvent

    analyze = not autovacuum_on()
    last_report = last_progress = last_analyze = time.monotonic()
    seen = -1
    while True:
        states = dict(
            InboundEvent.objects.for_tenant(tenant_id)
            .values_list("state")
            .annotate(n=Count("id"))
            .values_list("state", "n")
        )
        done = states.get("processed", 0) + states.get("ignored", 0) + states.get("dead", 0)
        if done >= expected:
            return states
        if problem := processes.dead():
            raise RuntimeError(problem)
        if done != seen:
            seen, last_progress = done, time.monotonic()
        elif time.monotonic() - last_progress > args.stall_timeout:
            raise RuntimeError(f"no webhook processed for {args.stall_timeout:.0f} s: {states}")
        if analyze and time.monotonic() - last_analyze > ANALYZE_SECONDS:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            last_analyze = time.monotonic()
        if time.monotonic() - last_report > 30:
            print(f"   ... {done:,} of {expected:,} done", flush=True)
            last_report = time.monotonic()
        time.sleep(0.5)


# --- one run ---------------------------------------------------------------------------------------
def quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1]


def run_once(world: World, deliveries: list[Delivery], log_dir: Path) -> dict[str, float]:
    from django.db import connection

    from integrations.models import InboundEvent
    from orders.models import Order, OrderEvent
    from orders.states import OrderEventType

    purge_broker()
    processes = Processes(log_dir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    load_before = os.getloadavg()
    try:
        processes.start(
            "gunicorn",
            [
                sys.executable, "-m", "gunicorn", "oms.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--workers", str(args.web_workers), "--log-level", "warning",
            ],
        )  # fmt: skip
        processes.start(
            "worker",
            [
                sys.executable, "-m", "celery", "-A", "oms", "worker", "-Q", QUEUES, "-c", str(args.workers),
                "--without-mingle", "--without-gossip", "--loglevel", "WARNING",
                "-n", f"bench-ingest-{os.getpid()}@%h",
            ],
        )  # fmt: skip
        wait_until_ready(base, processes)
        database = connection.settings_dict["NAME"]
        cpu_before = cpu_snapshot(processes.groups(), database)
        sent = send(f"{base}/webhooks/shopify/{world.token}/", deliveries)
        accepted = len(sent.sent_at) - len(sent.errors)
        print(
            f"   sent {len(sent.sent_at):,} webhooks in {sent.last - sent.first:.1f} s "
            f"({len(sent.sent_at) / (sent.last - sent.first):.0f}/s), {len(sent.errors)} refused",
            flush=True,
        )
        for error in sent.errors[:5]:
            print(f"   refused: {error}")
        states = wait_for_orders(world.tenant_id, accepted, processes)
        cpu = cpu_use(cpu_before, cpu_snapshot(processes.groups(), database))
    finally:
        processes.stop()
        connection.close()

    allocated_at: dict[str, float] = {}
    for external_id, at in (
        OrderEvent.objects.for_tenant(world.tenant_id)
        .filter(type=OrderEventType.ALLOCATED)
        .order_by("created_at")
        .values_list("order__external_id", "created_at")
    ):
        allocated_at.setdefault(external_id, at.timestamp())
    stored_at = {
        e: r.timestamp()
        for e, r in InboundEvent.objects.for_tenant(world.tenant_id).values_list("event_id", "received_at")
    }
    retried = InboundEvent.objects.for_tenant(world.tenant_id).filter(attempts__gt=1).count()
    allocated = Order.objects.for_tenant(world.tenant_id).filter(state="allocated").count()
    connection.close()
    latencies = sorted(allocated_at[o] - sent.sent_at[o] for o in allocated_at if o in sent.sent_at)
    event_of = {d.order_id: d.event_id for d in deliveries}
    from_stored = sorted(
        allocated_at[o] - stored_at[event_of[o]] for o in allocated_at if event_of.get(o) in stored_at
    )
    answers = sorted(sent.answer_seconds)
    figures = {
        "orders": len(latencies),
        "orders_per_s": (
            len(latencies) / (max(allocated_at.values()) - min(sent.sent_at.values())) if latencies else 0.0
        ),
        "p50_s": quantile(latencies, 50),
        "p99_s": quantile(latencies, 99),
        "max_s": latencies[-1] if latencies else float("nan"),
        "stored_p50_s": quantile(from_stored, 50),
        "http_p50_ms": quantile(answers, 50) * 1000,
        "http_p99_ms": quantile(answers, 99) * 1000,
        "send_per_s": len(sent.sent_at) / (sent.last - sent.first),
        "refused": len(sent.errors),
        "retried": retried,
        "dead": states.get("dead", 0),
        "not_allocated": accepted - allocated,
        "load_before": load_before[0],
        "cores": cpu.cores,
        "cpu_machine": cpu.machine,
        "cpu_others": cpu.others,
        "cpu_ours": cpu.ours,
        "cpu_web": cpu.groups["gunicorn"],
        "cpu_workers": cpu.groups["worker"],
        "cpu_postgres": cpu.postgres,
        "cpu_client": cpu.own,
    }
    per_order = cpu.seconds / max(len(latencies), 1) * 1000  # ms of one core per order, per core in use
    for name in ("web", "workers", "postgres"):
        figures[f"{name}_ms_per_order"] = figures[f"cpu_{name}"] * per_order
    return figures


def describe(f: dict[str, float]) -> str:
    return (
        f"{f['orders_per_s']:.1f} orders/s webhook-to-allocated; latency p50 {f['p50_s']:.1f} s, "
        f"p99 {f['p99_s']:.1f} s, max {f['max_s']:.1f} s "
        f"(from the webhook stored: p50 {f['stored_p50_s']:.1f} s)\n"
        f"    webhook POST answered in p50 {f['http_p50_ms']:.1f} ms, p99 {f['http_p99_ms']:.1f} ms "
        f"({f['send_per_s']:.0f} sent/s); refused {f['refused']:.0f}, retried {f['retried']:.0f}, "
        f"dead {f['dead']:.0f}, not allocated {f['not_allocated']:.0f}\n"
        f"    load: load average {f['load_before']:.2f} at the start; cores busy {f['cpu_machine']:.2f} of "
        f"{f['cores']:.0f}: this bench {f['cpu_ours']:.2f} (web {f['cpu_web']:.2f}, workers "
        f"{f['cpu_workers']:.2f}, PostgreSQL >= {f['cpu_postgres']:.2f}, client {f['cpu_client']:.2f}), "
        f"everything else {f['cpu_others']:.2f}\n"
        f"    CPU per order: workers {f['workers_ms_per_order']:.0f} ms, web {f['web_ms_per_order']:.0f} ms, "
        f"PostgreSQL >= {f['postgres_ms_per_order']:.0f} ms"
    )


def record(recorder: Recorder, f: dict[str, float]) -> None:
    """One run's main figures, into the recorder."""
    recorder.add("webhook → allocated", f["orders_per_s"], "orders/s")
    recorder.add("latency p50 (webhook sent → allocated)", f["p50_s"], "s")
    recorder.add("latency p99", f["p99_s"], "s")
    recorder.add("latency max", f["max_s"], "s")
    recorder.add("latency p50 from the webhook stored", f["stored_p50_s"], "s")
    recorder.add("webhook POST answered p50", f["http_p50_ms"], "ms")
    recorder.add("webhook POST answered p99", f["http_p99_ms"], "ms")
    recorder.add("webhooks sent", f["send_per_s"], "webhooks/s")
    for name in ("refused", "dead", "not_allocated"):
        recorder.add(f"webhooks {name.replace('_', ' ')}", f[name], "webhooks", target="== 0")
    recorder.add("webhooks retried", f["retried"], "webhooks")
    recorder.add("CPU per order: workers", f["workers_ms_per_order"], "ms")
    recorder.add("CPU per order: web", f["web_ms_per_order"], "ms")
    recorder.add("CPU per order: PostgreSQL (a floor)", f["postgres_ms_per_order"], "ms")
    recorder.add("cores busy: this bench", f["cpu_ours"], "cores")
    recorder.add("cores busy: everything else", f["cpu_others"], "cores")


def main() -> int:
    if not is_postgres(args.database_url):
        sys.exit("bench/ingest.py needs PostgreSQL (--database-url)")
    for what, url in (("Redis cache", args.redis_url), ("Redis broker", args.broker_url)):
        if problem := redis_reachable(url):
            sys.exit(f"bench/ingest.py needs Redis: the {what} at {url} does not answer ({problem})")
    signal.signal(signal.SIGTERM, _terminate)
    recorder = Recorder.from_args(__file__, parser, args, database_url=args.database_url)

    import django

    django.setup()

    rng = random.Random(args.seed)
    base_url, _, name = args.database_url.partition("?")[0].rpartition("/")
    seeded_url = f"{base_url}/{name}_seeded"  # with more runs, each run starts from this copy
    print(
        f"Marketplace ingest: {args.webhooks:,} signed Shopify orders/create webhooks → allocated orders "
        f"(auto_release off: ingest + allocation, no shipments)\n"
        f"load: {os.cpu_count()} cores shared by {args.clients} client threads"
        f"{f' at {args.rate:g}/s' if args.rate else ''}, gunicorn {args.web_workers} workers, "
        f"1 Celery worker with {args.workers} prefork processes (-c {args.workers}, queues {QUEUES}), "
        f"PostgreSQL and Redis; no beat",
        flush=True,
    )
    world = migrate_and_seed()
    deliveries = make_deliveries(args.webhooks, world.sku_codes, rng)
    runs: list[dict[str, float]] = []
    failed = ""
    log_dir = Path(tempfile.mkdtemp(prefix="oms-bench-ingest-"))
    try:
        if recorder.runs > 1:
            copy_database(args.database_url, seeded_url)
        for n in range(1, recorder.runs + 1):
            if n > 1:
                copy_database(seeded_url, args.database_url)
            print(f"run {n}: sending", flush=True)
            figures = run_once(world, deliveries, log_dir)
            runs.append(figures)
            print(f"run {n}: {describe(figures)}", flush=True)
    except KeyboardInterrupt:
        print("interrupted: every process this bench started is stopped", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        failed = str(exc)
    finally:
        if recorder.runs > 1:
            from django.db import connection

            connection.close()
            drop_database(seeded_url)
    for figures in runs:
        record(recorder, figures)
    recorder.note(
        f"{args.webhooks:,} webhooks from {args.clients} client threads; gunicorn {args.web_workers} "
        f"workers; 1 Celery worker with {args.workers} prefork processes; auto_release off."
    )
    if failed:
        recorder.note(f"FAILED after {len(runs)} run(s): {failed}")
    bad = [r for r in runs if r["refused"] or r["dead"] or r["not_allocated"]]
    recorder.finish(ok=not bad and not failed)
    if failed:
        print(f"FAILED: {failed}", file=sys.stderr)
        return 1
    if bad:
        print("FAILED: some webhooks were refused, or some orders were not allocated", file=sys.stderr)
        return 1
    print(f"worker and web logs: {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
