"""The embedded stack (`make run`): how soon a task starts, how soon a backorder gets received stock.

Runs on the embedded default: a fresh SQLite file and filesystem broker folder in a temporary
folder under var/, the settings `make run` uses (oms.settings.dev), and a real `celery worker`
started with the command line and environment scripts/run_dev.sh gives it (read from that
script). This process plays the web app: it writes through the services, so its tasks go out
through the outbox and its on-commit kick, as a request's do. No beat (its outbox relay only
catches what a kick missed).

(a) Idle latency: a task enqueued on an idle stack (`oms.tasks.worker_ping_task`) until it
    starts (the audit row it writes first), from the commit of the transaction that enqueued it.
    --samples samples per run, each after a random 0.05-0.35 s pause (the worker polls the
    folder; the pause puts each sample at a different point of its polling). Each run's median;
    their median and spread; p99 over every sample.
(b) Backorder: an order waits for a SKU; the worker is paused (SIGSTOP) while --queued other
    tasks are queued ahead on the allocation queue, then stock of the SKU is received and the
    worker resumes; time from the receipt until the order holds its units. Twice: ahead of it
    (1) the backorder sweeps of receipts of --queued other SKUs (what a seed or an import queues),
    (2) --queued unrelated tasks (ping tasks sent to the allocation queue: only the broker's and
    the worker's pace help there).
(c) Drain rate: --drain tasks queued while the worker is paused, then tasks started per second.

Targets (the embedded stack must keep up): (a) 0.5 s, (b) 2 s.

Run: `.venv/bin/python bench/broker.py` (options: --runs, --samples, --queued, --drain, --keep).
The machine's cores are shared with the worker and anything else running: the load average is
printed before and after, with a warning above 1.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support.results import Recorder, add_run_options  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--samples", type=int, default=60, help="idle latency samples per run")
parser.add_argument("--queued", type=int, default=100, help="tasks queued ahead of the backorder's sweep")
parser.add_argument("--drain", type=int, default=300, help="tasks queued for the drain rate")
parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, broker, logs)")
add_run_options(parser)
args = parser.parse_args()

TARGET_IDLE_S = 0.5
TARGET_BACKORDER_S = 2.0


def worker_command() -> tuple[list[str], dict[str, str]]:
    """The worker's command line and environment as scripts/run_dev.sh starts it."""
    script = (ROOT / "scripts" / "run_dev.sh").read_text().replace("\\\n", " ")
    line = next((ln for ln in script.splitlines() if "-m celery -A oms worker" in ln), None)
    if line is None:
        sys.exit(
            "scripts/run_dev.sh starts no `celery -A oms worker`: cannot run the worker as make run does"
        )
    words = shlex.split(line.split(">")[0])
    env: dict[str, str] = {}
    while words and re.fullmatch(r"\w+=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        default = re.fullmatch(r"\$\{(\w+):-(.*)\}", value)
        env[name] = os.environ.get(default.group(1), default.group(2)) if default else value
    if words[0] != "$PY":
        sys.exit(f"unexpected worker line in scripts/run_dev.sh: {line.strip()}")
    return [sys.executable, *words[1:]], env


WORKER_ARGS, WORKER_ENV = worker_command()
(ROOT / "var").mkdir(exist_ok=True)
TMP = Path(tempfile.mkdtemp(prefix="bench-broker-", dir=ROOT / "var"))
for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"):
    os.environ.pop(name, None)
os.environ.update(
    DJANGO_SETTINGS_MODULE="oms.settings.dev",
    OMS_VAR_DIR=str(TMP),
    DATABASE_URL=f"sqlite:///{TMP / 'oms.sqlite3'}",
    LOG_LEVEL="WARNING",
)

import django  # noqa: E402

django.setup()
logging.getLogger("kombu.connection").setLevel(logging.ERROR)  # "No hostname was supplied": none is needed

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from inventory.services import sku_create, stock_receive, warehouse_create  # noqa: E402
from oms.core.tasks import enqueue_on_commit  # noqa: E402
from oms.models import AuditEvent, Tenant  # noqa: E402
from oms.tasks import worker_ping_task  # noqa: E402
from orders.models import OrderLine  # noqa: E402
from orders.services import LineInput, OrderInput, order_create  # noqa: E402

QUEUE_DIR = TMP / "broker" / "queue"


def quantile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value at or above q % of the values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Worker:
    """`celery -A oms worker` as make run starts it, on this bench's database and broker folder."""

    def __init__(self) -> None:
        self.log = (TMP / "worker.log").open("w")
        self.process = subprocess.Popen(
            [*WORKER_ARGS, "-n", f"bench-broker-{os.getpid()}@%h"],
            cwd=ROOT,
            env={**os.environ, **WORKER_ENV},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def check(self) -> None:
        if self.process.poll() is not None:
            sys.exit(f"the worker exited ({self.process.returncode}); see {TMP / 'worker.log'}")


def wait_for(predicate: Any, worker: Worker, timeout: float = 120.0, step: float = 0.005) -> float:
    """Poll until `predicate()` is true; returns the time it was seen true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.time()
        worker.check()
        time.sleep(step)
    sys.exit(f"timed out after {timeout:.0f} s; see {TMP / 'worker.log'}")


def queue_empty() -> bool:
    return not any(name.endswith(".msg") for name in os.listdir(QUEUE_DIR))


def settle(worker: Worker) -> None:
    """Until the queue folder is empty and the worker has finished what it took."""
    wait_for(queue_empty, worker, step=0.05)
    ping(worker)  # runs once a pool process is free: the worker has finished what it held


def ping_started_at(token: str) -> float | None:
    row = AuditEvent.objects.unscoped().filter(action="worker.ping", object_id=token).first()
    return row.created_at.timestamp() if row else None


def ping(worker: Worker) -> str:
    token = uuid.uuid4().hex
    with transaction.atomic():
        enqueue_on_commit(worker_ping_task, tenant_id=TENANT.pk, token=token)
    wait_for(lambda: ping_started_at(token) is not None, worker)
    return token


def idle_latency(worker: Worker) -> list[float]:
    samples = []
    for _ in range(args.samples):
        time.sleep(random.uniform(0.05, 0.35))
        token = uuid.uuid4().hex
        with transaction.atomic():
            enqueue_on_commit(worker_ping_task, tenant_id=TENANT.pk, token=token)
            committed_at = time.time()  # the commit follows, then the on-commit kick sends it
        wait_for(lambda token=token: ping_started_at(token) is not None, worker, step=0.01)
        samples.append(ping_started_at(token) - committed_at)
    return samples


def waiting_order(sku: Any, external_id: str) -> int:
    order, _ = order_create(
        tenant=TENANT,
        data=OrderInput(
            channel="web",
            external_id=external_id,
            currency="USD",
            customer={"email": "ana@example.com", "name": "Ana Lima"},
            ship_to={
                "name": "Ana Lima",
                "line1": "1 Main St",
                "city": "Austin",
                "region": "TX",
                "postal_code": "78701",
                "country": "US",
            },
            lines=[LineInput(sku=sku.code, quantity=1, unit_price=Decimal("9.99"))],
            shipping_price=Decimal("5.00"),
        ),
    )
    assert order.state == "backordered", order.state
    return order.pk


def holds_its_units(order_id: int) -> bool:
    line = OrderLine.objects.for_tenant(TENANT).get(order_id=order_id)
    return line.quantity_allocated == line.quantity


def backorder(worker: Worker, run: int, ahead: str) -> float:
    sku = sku_create(tenant=TENANT, code=f"BO-{ahead}-{run}", name="Backordered", price=Decimal("9.99"))
    order_id = waiting_order(sku, f"BO-{ahead}-{run}")
    settle(worker)
    worker.pause()
    try:
        for n, other in enumerate(OTHER_SKUS[: args.queued]):
            if ahead == "sweeps":
                stock_receive(
                    tenant=TENANT,
                    sku_id=other.pk,
                    warehouse_id=WAREHOUSE.pk,
                    quantity=1,
                    reference=f"R{run}-{n}",
                )
            else:
                worker_ping_task.apply_async(
                    kwargs={"tenant_id": TENANT.pk, "token": f"filler-{run}-{n}"}, queue="allocation"
                )
        received_at = time.time()
        stock_receive(
            tenant=TENANT, sku_id=sku.pk, warehouse_id=WAREHOUSE.pk, quantity=1, reference=f"PO-{run}"
        )
    finally:
        worker.resume()
    allocated_at = wait_for(lambda: holds_its_units(order_id), worker, step=0.01)
    return allocated_at - received_at


def drain_rate(worker: Worker) -> float:
    settle(worker)
    tokens = [f"drain-{uuid.uuid4().hex}" for _ in range(args.drain)]
    worker.pause()
    try:
        for token in tokens:
            worker_ping_task.apply_async(kwargs={"tenant_id": TENANT.pk, "token": token})
    finally:
        worker.resume()
    rows = AuditEvent.objects.unscoped().filter(action="worker.ping", object_id__in=tokens)
    wait_for(lambda: rows.count() == len(tokens), worker, step=0.05)
    started = sorted(at.timestamp() for at in rows.values_list("created_at", flat=True))
    return (len(started) - 1) / (started[-1] - started[0])


call_command("migrate", verbosity=0)
TENANT = Tenant.objects.create(name="Bench", slug="bench-broker")
WAREHOUSE = warehouse_create(
    tenant=TENANT, code="W1", name="Austin", city="Austin", region="TX", postal_code="78701", country="US"
)
OTHER_SKUS = [
    sku_create(tenant=TENANT, code=f"OTHER-{n:03d}", name=f"Other {n}", price=Decimal("1.00"))
    for n in range(args.queued)
]
connection.close()

print(f"embedded stack in {TMP}: SQLite, filesystem broker, oms.settings.dev")
print(f"worker: {' '.join([*(f'{k}={v}' for k, v in WORKER_ENV.items()), *WORKER_ARGS[1:]])}")
recorder = Recorder.from_args(__file__, parser, args)
runs = recorder.runs
worker = Worker()
try:
    ping(worker)  # up and consuming
    idle_runs = [idle_latency(worker) for _ in range(runs)]
    sweeps_ahead = [backorder(worker, run, "sweeps") for run in range(runs)]
    tasks_ahead = [backorder(worker, run, "tasks") for run in range(runs)]
    rates = [drain_rate(worker) for _ in range(runs)]
finally:
    worker.stop()
    connection.close()

every_sample = [s for run in idle_runs for s in run]
for run in range(runs):
    recorder.add(
        "(a) idle: enqueue -> task start, median of a run",
        statistics.median(idle_runs[run]),
        "s",
        target=f"<= {TARGET_IDLE_S}",
    )
    recorder.add(
        f"(b) receipt -> backorder allocated, {args.queued} sweeps ahead",
        sweeps_ahead[run],
        "s",
        target=f"<= {TARGET_BACKORDER_S}",
    )
    recorder.add(
        f"(b) the same, {args.queued} unrelated tasks ahead on its queue",
        tasks_ahead[run],
        "s",
        target=f"<= {TARGET_BACKORDER_S}",
    )
    recorder.add(f"(c) drain rate ({args.drain} queued)", rates[run], "tasks/s")
recorder.add("(a) idle: p99 over every sample", quantile(every_sample, 99), "s", target=f"<= {TARGET_IDLE_S}")
recorder.note(
    f"(a) {args.samples} samples a run, {len(every_sample)} in all, max {max(every_sample):.3f} s; "
    "embedded stack: SQLite, filesystem broker, oms.settings.dev, the worker as scripts/run_dev.sh starts it."
)
recorder.finish()
if args.keep:
    print(f"kept {TMP}")
else:
    shutil.rmtree(TMP, ignore_errors=True)
