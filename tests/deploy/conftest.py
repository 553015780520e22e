"""The production layout (deploy/layout.py) as the deploy tests drive it: its own database (a
copy of the migrated test database), its own Redis database or RabbitMQ vhost, PgBouncer, nodes.

These tests run on PostgreSQL only. Without pgbouncer or RabbitMQ they skip, unless
OMS_DEPLOY_TESTS_REQUIRED=1 (CI), which makes a missing piece a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
import requests
from django.db import connection, connections

from integrations.shippo.fake_server import FakeShippo
from integrations.shopify.fake_server import FakeShopify
from tests.deploy.actions import SHOP_TOKEN
from tests.e2e.worker import free_port, test_database_url
from tests.fakes.localstripe import localstripe_url  # noqa: F401  (session fixture)

ROOT = Path(__file__).resolve().parents[2]
LAYOUT = [sys.executable, str(ROOT / "deploy" / "layout.py")]
REQUIRED = bool(os.environ.get("OMS_DEPLOY_TESTS_REQUIRED"))
PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
)
# Production refuses a visibility timeout within 60 s of the hard time limit: both come down so a
# killed node's messages are back on their queues (Redis) about 80 s later instead of 10 minutes.
FAST_RECOVERY = [
    "CELERY_TASK_SOFT_TIME_LIMIT=8",
    "CELERY_TASK_TIME_LIMIT=10",
    "CELERY_BROKER_VISIBILITY_TIMEOUT=71",
]
AUSTIN = {"first_name": "Ana", "last_name": "Lima", "address1": "500 Congress Ave", "city": "Austin",
          "province_code": "TX", "zip": "78701", "country_code": "US"}  # fmt: skip
SHIP_TO = {"name": "Ana Lima", "line1": "500 Congress Ave", "city": "Austin", "region": "TX",
           "postal_code": "78701", "country": "US"}  # fmt: skip


def missing(what: str) -> None:
    if REQUIRED:
        pytest.fail(f"{what} (OMS_DEPLOY_TESTS_REQUIRED=1)")
    pytest.skip(what)


def rabbitmq_up() -> bool:
    if shutil.which("rabbitmqctl") is None:
        return False
    return subprocess.run(["rabbitmqctl", "-q", "status"], capture_output=True, timeout=30).returncode == 0


@pytest.fixture
def layout_db(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """A database of its own for the layout: a copy of the migrated, empty test database."""
    if connection.vendor != "postgresql":
        missing("the production layout runs on PostgreSQL")
    if PGBOUNCER is None:
        missing("pgbouncer is not installed (apt-get install pgbouncer)")
    base = urlsplit(os.environ.get("DATABASE_URL", "")).path.lstrip("/") or "oms"
    name = f"{base}_layout"
    with django_db_blocker.unblock():
        template = connection.settings_dict["NAME"]
        direct = test_database_url().rpartition("/")[0]
        connections.close_all()
        with psycopg.connect(f"{direct}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield f"{direct}/{name}"
        with psycopg.connect(f"{direct}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def broker_url(kind: str, layout_db: str) -> str:
    """An empty broker for the layout: the tests' Redis broker database, or a fresh vhost."""
    if kind == "redis":
        url = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or ""
        if not url.startswith("redis://"):
            missing("the Redis layout needs CELERY_BROKER_URL or REDIS_URL")
        redis.Redis.from_url(url).flushdb()  # a killed run's unacked messages must not come back here
        return url
    if not rabbitmq_up():
        missing("RabbitMQ is not running (rabbitmqctl status fails)")
    vhost = layout_db.rpartition("/")[2]
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)
    return f"amqp://guest:guest@127.0.0.1:5672/{vhost}"


class Layout:
    """deploy/layout.py up/down/run/kill, for one test."""

    def __init__(self, var: Path, database: str, broker: str) -> None:
        self.var, self.database, self.broker = var, database, broker
        self.ports: list[int] = []

    def up(self, *, nodes: int, env: list[str] = (), concurrency: str = "") -> None:  # type: ignore[assignment]
        self.ports = [free_port() for _ in range(nodes)]
        # Ports in a row are what the script takes: find a free run of them.
        while any(not _free(p) for p in range(self.ports[0], self.ports[0] + nodes)):
            self.ports = [free_port()]
        self.ports = list(range(self.ports[0], self.ports[0] + nodes))
        self.pgbouncer_port = free_port()
        argv = [
            *LAYOUT, "up", "--var", str(self.var), "--database", self.database, "--broker", self.broker,
            "--nodes", str(nodes), "--port", str(self.ports[0]), "--pgbouncer-port", str(self.pgbouncer_port),
            "--web-workers", "1", "--wait", "150",
            "--concurrency", concurrency or "ingest=1,allocation=1,labels=2,sync=1,notifications=1,default=1",
            "--env", "VENDOR_BASE_URL_HOSTS=127.0.0.1", "--env", "OMS_OUTBOX_RELAY_SECONDS=2",
            "--env", "EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend",
        ]  # fmt: skip
        for item in env:
            argv += ["--env", item]
        started = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=240)
        assert started.returncode == 0, started.stdout + started.stderr + self.logs()

    def down(self) -> None:
        if (self.var / "layout.json").exists():
            subprocess.run([*LAYOUT, "down", "--var", str(self.var)], cwd=ROOT, timeout=120, check=False)

    def state(self) -> dict[str, Any]:
        return json.loads((self.var / "layout.json").read_text())

    def url(self, node: int) -> str:
        return f"http://127.0.0.1:{self.ports[node - 1]}"

    def action(self, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        done = subprocess.run(
            [*LAYOUT, "run", "--var", str(self.var), "--", sys.executable, "-m", "tests.deploy.actions", name,
             json.dumps(payload or {})],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-4000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def states(self, tenant_id: int) -> dict[str, list[str]]:
        """Orders', shipments' and succeeded captures' states, read straight from PostgreSQL (cheap
        enough to poll; `action("report")` is the whole picture)."""

        def column(sql: str) -> list[str]:
            return [row[0] for row in db.execute(sql, [tenant_id])]

        with psycopg.connect(self.database, autocommit=True) as db:
            return {
                "orders": column("SELECT state FROM orders_order WHERE tenant_id = %s ORDER BY id"),
                "shipments": column(
                    "SELECT state FROM fulfillment_shipment WHERE tenant_id = %s ORDER BY id"
                ),
                "captures": column(
                    "SELECT state FROM orders_paymentoperation"
                    " WHERE tenant_id = %s AND kind = 'capture' ORDER BY id"
                ),
            }

    def kill_node(self, node: int) -> None:
        """SIGKILL the node's process group: gunicorn, every worker and its pool, the beat, at once."""
        os.killpg(self.state()["nodes"][str(node)]["pid"], signal.SIGKILL)

    def logs(self, pattern: str = "*/*.log") -> str:
        return "".join(f"\n--- {p}\n{p.read_text()[-1500:]}" for p in sorted(self.var.glob(pattern)))


def _free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def running_layout(tmp_path: Path, database: str, broker: str) -> Iterator[Layout]:
    layout = Layout(tmp_path / "layout", database, broker)
    try:
        yield layout
    finally:
        layout.down()
        if broker.startswith("amqp://"):
            vhost = broker.rpartition("/")[2]
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, check=False)


@pytest.fixture
def fakes() -> Iterator[tuple[FakeShopify, FakeShippo]]:
    shop, shippo = FakeShopify(access_token=SHOP_TOKEN).start(), FakeShippo().start()
    yield shop, shippo
    shop.stop()
    shippo.stop()


def api(base: str, key: str, method: str, path: str, body: Any = None, idem: str = "") -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"}
    if idem:
        headers["Idempotency-Key"] = idem
    return requests.request(method, f"{base}/api/v1/{path}", json=body, headers=headers, timeout=60)


def order_body(external_id: str, sku: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "channel": "web",
        "external_id": external_id,
        "currency": "USD",
        "customer": {"email": "ana@example.com", "name": "Ana Lima"},
        "ship_to": dict(SHIP_TO),
        "lines": [{"sku": sku, "quantity": quantity, "unit_price": "89.00"}],
        "shipping_price": "5.00",
        "payment": {"payment_method": "pm_card_visa"},
    }


def wait_until(predicate: Any, *, timeout: float, what: str, layout: Layout | None = None) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(1)
    raise AssertionError(f"{what}: not within {timeout:g} s\n{layout.logs() if layout else ''}")


_FIGURES: list[str] = []


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Any:
    def report(line: str) -> None:
        _FIGURES.append(f"{request.node.name}: {line}")

    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        terminalreporter.section("deploy figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
