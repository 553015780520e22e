"""The broker goes away while orders are placed and stock comes in: nothing is lost.

A real worker (with its beat) and our own redis-server, on PostgreSQL. Orders are placed for
SKUs that have no stock (they wait), then Redis is stopped; while it is down more orders are
placed and the stock for every SKU is received through the API, each receipt writing its
backorder sweep as an outbox row. Every request answers as usual. Redis comes back, no
request follows, and the beat relay alone must deliver every row: every order ends allocated
(and, the tenant releasing on allocation, in fulfillment).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

from oms.models import OutboxMessage
from orders.models import Order
from tests.conftest import api_client_for
from tests.e2e.worker import running_worker, wait_for
from tests.inventory.factories import SKUFactory, WarehouseFactory
from tests.oms.test_outbox import broker
from tests.orders.conftest import order_payload

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a real worker on PostgreSQL"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary"),
]

SKUS = 5
ORDERS_BEFORE = 2  # per SKU, placed while the broker is up
ORDERS_DURING = 2  # per SKU, placed while it is down
OUTAGE_SECONDS = 4.0  # at least; bounded by the requests it takes (a few seconds)
# Allocated, or allocated and released to the warehouse (the default: auto release on allocation).
ALLOCATED = ("allocated", "in_fulfillment")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server this test owns: it stops and starts it at will (no persistence)."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir, self.process = port, workdir, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        log = (self.workdir / "redis.log").open("a")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        wait_for(lambda: _pings(client), timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _place(api, sku: str, n: int) -> int:
    body = order_payload(f"{sku}-{n}", lines=[{"sku": sku, "quantity": 1, "unit_price": "9.99"}])
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _receive(api, sku: str, quantity: int) -> None:
    body = {"sku": sku, "warehouse": "W1", "delta": quantity, "reason": "receipt", "reference": f"PO-{sku}"}
    response = api.post("/api/v1/stock/adjustments/", body, format="json")
    assert response.status_code in (200, 201), response.content


def test_orders_and_receipts_during_a_broker_outage_lose_nothing(tmp_path, tenant_a, key_a):
    WarehouseFactory(tenant=tenant_a, code="W1", postal_code="75201")
    codes = [SKUFactory(tenant=tenant_a, code=f"OUT-{i}").code for i in range(SKUS)]
    api = api_client_for(key_a[1])
    server = RedisServer(_free_port(), tmp_path)
    server.start()
    env = {"OMS_OUTBOX_RELAY_SECONDS": "1", "OMS_BACKORDERS_SWEEP_SECONDS": "3600"}
    args = ("-B", "-s", str(tmp_path / "beat-schedule"))
    try:
        with (
            broker(server.url),
            running_worker(server.url, tmp_path, concurrency=2, extra_args=args, extra_env=env) as worker,
        ):
            log = tmp_path / "worker.log"
            wait_for(lambda: " ready." in log.read_text(), timeout=30, process=worker, log=log)
            placed = [_place(api, code, n) for code in codes for n in range(ORDERS_BEFORE)]

            server.stop()
            down_at = time.monotonic()
            placed += [_place(api, code, ORDERS_BEFORE + n) for code in codes for n in range(ORDERS_DURING)]
            for code in codes:
                _receive(api, code, ORDERS_BEFORE + ORDERS_DURING)
            requests_took = time.monotonic() - down_at
            time.sleep(max(OUTAGE_SECONDS - requests_took, 0))
            rows = OutboxMessage.objects.filter(task="orders.tasks.orders_allocate_backorders_task")
            pending_at_restart = rows.filter(state="pending").count()
            waiting_at_restart = Order.objects.for_tenant(tenant_a).filter(state="backordered").count()
            server.start()
            up_at = time.monotonic()
            outage = up_at - down_at

            wait_for(
                lambda: not Order.objects.for_tenant(tenant_a).exclude(state__in=ALLOCATED).exists(),
                timeout=45,
                process=worker,
                log=log,
            )
            wait_for(
                lambda: not rows.filter(done_at__isnull=True).exists(), timeout=15, process=worker, log=log
            )
            caught_up = time.monotonic() - up_at
    finally:
        server.stop()

    orders = Order.objects.for_tenant(tenant_a).filter(pk__in=placed)
    lost = orders.exclude(state__in=ALLOCATED).count() + rows.exclude(state="sent").count()
    figures = (
        f"orders placed={len(placed)} (during the outage {SKUS * ORDERS_DURING}), receipts={SKUS}, "
        f"outbox rows={rows.count()}, pending at restart={pending_at_restart}, "
        f"backordered at restart={waiting_at_restart}, outage={outage:.1f}s, "
        f"caught up {caught_up:.1f}s after the broker returned, lost={lost}"
    )
    print(f"\noutbox broker-down: {figures}")  # noqa: T201  (the figures, shown with -s)
    assert len(placed) == SKUS * (ORDERS_BEFORE + ORDERS_DURING), figures
    assert pending_at_restart == rows.count() == SKUS, figures  # nothing got through during the outage
    assert waiting_at_restart == len(placed), figures
    assert orders.filter(state__in=ALLOCATED).count() == len(placed), figures
    assert lost == 0, figures
