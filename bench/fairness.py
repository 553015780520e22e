"""Fair queues: a small tenant's task latency while a big tenant floods the queue (oms/core/fairness.py).

A real Celery worker (`celery -A oms worker -Q default -c --workers`, oms.settings.prod) on a
Redis broker and a PostgreSQL database. Two tenants: "big" and "small". Each run has three
phases, and in each the small tenant publishes --small tasks, one every 1/--small-rate seconds
(a storefront at a modest pace):
1. quiet: the small tenant alone;
2. flood, fairness off (TASK_FAIRNESS=0): from the same moment, the big tenant publishes
   --backlog tasks as fast as it can (what the outbox relay does with a marketplace backfill's
   or a bulk import's rows);
3. flood, fairness on: the same, with TASK_FAIRNESS=1 and the default share (TASK_QUEUED_PER_TENANT).
Every task is `oms.tasks.worker_ping_task` (it reads the tenant and writes an audit row: a short
task, one per order, as a backfill's), published through the app's task base as the relay
publishes, so the fairness decision is the one production makes. A small task's latency is
from just before its publish to its audit row's time (the worker writes it when it ran); the
figures are its p50 and p99 per phase, and the time the big tenant's backlog took to drain (the
flood is not slowed by fairness: it runs at full speed whenever the small tenant has nothing
queued). The phases wait for the queue to be empty before the next one.

Not measured here: an API flood (the per-tenant API limit, oms/core/throttling.py, answers the
flooding tenant 429 and is tested in tests/oms/test_throttling.py); tasks heavier than a ping.

Run: `.venv/bin/python bench/fairness.py` (options: --backlog, --small, --small-rate,
--workers, --runs, --quick, --database-url, --redis-url, --broker-url). Needs PostgreSQL and
Redis: the database (default oms_bench_fairness, BENCH_FAIRNESS_DATABASE_URL) is created when
missing and migrated; the cache is Redis db 12 and the broker db 13 of 127.0.0.1:6379 by
default (BENCH_FAIRNESS_REDIS_URL, BENCH_FAIRNESS_BROKER_URL): their queues and counters are
emptied. --quick: a backlog of 600, 10 small tasks, 1 run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import bench_parser, ensure_database, is_postgres  # noqa: E402
from bench.support.results import Recorder, add_run_options, quantile  # noqa: E402

parser = bench_parser(
    __doc__,
    env="BENCH_FAIRNESS_DATABASE_URL",
    database="oms_bench_fairness",
    why="this bench writes audit rows and tenants into its database",
)
parser.add_argument(
    "--redis-url", default=os.environ.get("BENCH_FAIRNESS_REDIS_URL", "redis://127.0.0.1:6379/12")
)
parser.add_argument(
    "--broker-url", default=os.environ.get("BENCH_FAIRNESS_BROKER_URL", "redis://127.0.0.1:6379/13")
)
parser.add_argument("--backlog", type=int, help="the big tenant's tasks per flood (default 2000)")
parser.add_argument("--small", type=int, help="the small tenant's tasks per phase (default 30)")
parser.add_argument("--small-rate", type=float, default=5.0, help="the small tenant's tasks per second")
parser.add_argument("--workers", type=int, default=2, help="the worker's concurrency")
add_run_options(parser)
args = parser.parse_args()
BACKLOG = args.backlog or (600 if args.quick else 2000)
SMALL = args.small or (10 if args.quick else 30)
QUEUE = "default"

if not is_postgres(args.database_url):
    sys.exit("bench/fairness.py needs PostgreSQL")

ENV = {
    "DJANGO_SETTINGS_MODULE": "oms.settings.prod",
    "DATABASE_URL": args.database_url,
    "SECRET_KEY": "bench-" + "x" * 50,
    "FIELD_ENCRYPTION_KEY": "bench-field-key",
    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_HSTS_SECONDS": "0",
    "LOG_LEVEL": "WARNING",
    "REDIS_URL": args.redis_url,
    "CELERY_BROKER_URL": args.broker_url,
    "CELERY_TASK_ALWAYS_EAGER": "0",
}
os.environ.update(ENV)


class BenchFailed(Exception):
    pass


def prepare() -> tuple[int, int]:
    from django.core.management import call_command

    from oms.models import Tenant

    ensure_database(args.database_url)
    call_command("migrate", verbosity=0)
    big, _ = Tenant.objects.get_or_create(slug="bench-fair-big", defaults={"name": "Big importer"})
    small, _ = Tenant.objects.get_or_create(slug="bench-fair-small", defaults={"name": "Small shop"})
    return big.pk, small.pk


def start_worker(log_path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "oms", "worker", "-Q", QUEUE, "-c", str(args.workers)]
    command += ["--without-mingle", "--without-gossip", "--loglevel", "WARNING"]
    command += ["-n", f"fair-{os.getpid()}@%h"]
    log = log_path.open("wb")
    env = {**os.environ, **ENV}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def empty_broker() -> None:
    import redis
    from django.core.cache import cache

    from oms.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)
    redis.Redis.from_url(args.broker_url).delete("unacked", "unacked_index", "unacked_mutex")
    cache.clear()  # the fairness counters


def done_times(tenant_id: int, tokens: list[str]) -> dict[str, float]:
    from oms.models import AuditEvent

    rows = AuditEvent.objects.for_tenant(tenant_id).filter(action="worker.ping", object_id__in=tokens)
    return {token: at.timestamp() for token, at in rows.values_list("object_id", "created_at")}


def big_done(tenant_id: int, run_tag: str) -> int:
    from oms.models import AuditEvent

    qs = AuditEvent.objects.for_tenant(tenant_id).filter(action="worker.ping")
    return qs.filter(object_id__startswith=run_tag).count()


def wait_until(predicate, what: str, worker: subprocess.Popen[bytes], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if worker.poll() is not None:
            raise BenchFailed(f"the worker exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise BenchFailed(f"timed out waiting for {what}")
        time.sleep(0.05)


def phase(
    name: str,
    big: int,
    small: int,
    worker: subprocess.Popen[bytes],
    recorder: Recorder,
    *,
    flood: bool,
    fair: bool,
) -> None:
    from django.conf import settings
    from django.db import connection

    from oms.tasks import worker_ping_task

    settings.TASK_FAIRNESS = fair
    empty_broker()
    tag = uuid.uuid4().hex[:8]
    sent: dict[str, float] = {}
    flood_times: list[float] = []

    def flood_all() -> None:
        began = time.time()
        for n in range(BACKLOG):
            worker_ping_task.apply_async(kwargs={"tenant_id": big, "token": f"{tag}-{n}"}, queue=QUEUE)
        flood_times.extend([began, time.time()])
        connection.close()

    flooder = threading.Thread(target=flood_all) if flood else None
    if flooder:
        flooder.start()
    for n in range(SMALL):
        token = f"small-{tag}-{n}"
        sent[token] = time.time()
        worker_ping_task.apply_async(kwargs={"tenant_id": small, "token": token}, queue=QUEUE)
        time.sleep(1 / args.small_rate)
    tokens = list(sent)
    wait_until(lambda: len(done_times(small, tokens)) == len(tokens), "the small tenant's tasks", worker)
    latencies = sorted(max(at - sent[token], 0.0) for token, at in done_times(small, tokens).items())
    recorder.add(f"small tenant task latency p50, {name}", quantile(latencies, 50) * 1000, "ms")
    recorder.add(f"small tenant task latency p99, {name}", quantile(latencies, 99) * 1000, "ms")
    if flooder:
        flooder.join()
        wait_until(lambda: big_done(big, tag) >= BACKLOG, "the big tenant's backlog", worker)
        from oms.models import AuditEvent

        last = AuditEvent.objects.for_tenant(big).filter(object_id__startswith=tag).latest("created_at")
        drained = last.created_at.timestamp() - flood_times[0]
        recorder.add(f"big tenant backlog of {BACKLOG}: drained in, {name}", drained, "s")
    p50, p99 = quantile(latencies, 50) * 1000, quantile(latencies, 99) * 1000
    print(f"   {name}: small tenant p50 {p50:.0f} ms, p99 {p99:.0f} ms", flush=True)


def main() -> int:
    recorder = Recorder.from_args(__file__, parser, args, database_url=args.database_url)

    import django

    django.setup()
    from django.conf import settings

    big, small = prepare()
    recorder.note(
        f"Each run: the small tenant publishes {SMALL} tasks at {args.small_rate:g}/s alone, then while the "
        f"big tenant publishes a backlog of {BACKLOG} at once, with fairness off and on (share "
        f"{settings.TASK_QUEUED_PER_TENANT} tasks waiting per tenant); oms.tasks.worker_ping_task, "
        f"1 worker with concurrency {args.workers}, Redis broker, PostgreSQL."
    )
    log_dir = ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    empty_broker()
    worker = start_worker(log_dir / "fairness-worker.log")
    try:
        from oms.tasks import worker_ping_task

        token = f"warm-{uuid.uuid4().hex[:8]}"
        worker_ping_task.apply_async(kwargs={"tenant_id": small, "token": token}, queue=QUEUE)
        wait_until(lambda: bool(done_times(small, [token])), "the worker to start", worker, timeout=120)
        for run in range(1, recorder.runs + 1):
            print(f"run {run} of {recorder.runs} ...", flush=True)
            phase("quiet", big, small, worker, recorder, flood=False, fair=True)
            phase("flood, fairness off", big, small, worker, recorder, flood=True, fair=False)
            phase("flood, fairness on", big, small, worker, recorder, flood=True, fair=True)
    except BenchFailed as exc:
        recorder.note(f"FAILED: {exc}")
        recorder.finish(ok=False)
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    recorder.finish(ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
