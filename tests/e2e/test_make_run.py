"""`make run` on the embedded defaults: the whole system comes up and works end to end.

Runs the README's command itself, with SQLite and the filesystem broker under a temporary
var dir (whatever database the suite runs on), then drives it over real HTTP: health, the
admin login with the demo account, and a backordered order that a real Celery worker
allocates once stock is received through the API. Ctrl-C (SIGINT to the process group)
must then stop every process it started; the fixture fails the run otherwise.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
FAKE_CHANNELS = ("shopify", "woocommerce", "amazon", "ebay")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout, process, log):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except requests.RequestException:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"timed out; make run said:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory):
    var = tmp_path_factory.mktemp("run-var")
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG"}
    }
    env.update({"OMS_VAR_DIR": str(var), "OMS_PORT": str(port)})
    # Demo orders every 3 s from each fake marketplace; the polled ones asked every 3 s.
    env.update({"OMS_DEMO_ORDER_SECONDS": "3", "OMS_DEMO_POLL_SECONDS": "3", "OMS_POLL_SWEEP_SECONDS": "2"})
    for kind in (*FAKE_CHANNELS, "shippo"):
        env[f"OMS_{kind.upper()}_PORT"] = str(_free_port())
    log = var / "make-run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: requests.get(f"{base}/health", timeout=5).status_code == 200, 240, process, log)
        yield base, var, log
    finally:
        # Ctrl-C in a terminal: SIGINT to the whole foreground process group.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 30
        while _group_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _group_members(process.pid)
        if left:
            os.killpg(process.pid, signal.SIGKILL)
        # Fails the run (as a teardown error) when Ctrl-C leaves anything of `make run` behind.
        assert not left, f"processes of `make run` still running after Ctrl-C: {left}"


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def test_make_run_prints_the_admin_url_and_demo_login(running_stack):
    base, _, log = running_stack
    text = log.read_text()
    assert f"{base}/admin/" in text
    assert "demo@example.com / demo-pass-2026" in text
    health = requests.get(f"{base}/health", timeout=5).json()
    assert health["database"] == "ok" and health["broker"] == "ok"


def test_demo_login_reaches_the_order_blotter(running_stack):
    base, _, _ = running_stack
    session = requests.Session()
    page = session.get(f"{base}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={"username": "demo@example.com", "password": "demo-pass-2026", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/admin/login/"},
        timeout=10,
    )
    assert response.status_code == 200 and "Log out" in response.text
    blotter = session.get(f"{base}/admin/orders/order/", timeout=10)
    assert blotter.status_code == 200
    # the demo's month of orders (docs/demo.md: a few hundred), listed with their numbers
    found = re.search(r"(\d+) results?", blotter.text)
    assert found and int(found.group(1)) >= 200, found
    # a page of rows, each linking to its order
    assert len(set(re.findall(r'href="/admin/orders/order/(\d+)/change/', blotter.text))) >= 50


def test_stock_received_through_the_api_is_allocated_by_the_worker(running_stack):
    base, var, _ = running_stack
    key = (var / "demo-api-key.txt").read_text().strip()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {key}"
    warehouse = api.post(
        f"{base}/api/v1/warehouses/",
        json={
            "code": "E2E",
            "name": "End to end",
            "address": {"line1": "1 Main St", "city": "Austin", "postal_code": "78701", "country": "US"},
        },
        timeout=10,
    )
    assert warehouse.status_code == 201, warehouse.text
    sku = api.post(
        f"{base}/api/v1/skus/", json={"code": "E2E-1", "name": "Worker proof", "price": "5.00"}, timeout=10
    )
    assert sku.status_code == 201, sku.text
    order = api.post(
        f"{base}/api/v1/orders/",
        json={
            "external_id": "E2E-ORDER",
            "currency": "USD",
            "customer": {"email": "e2e@example.com"},
            "ship_to": {"line1": "2 Main St", "city": "Austin", "postal_code": "78701", "country": "US"},
            "lines": [{"sku": "E2E-1", "quantity": 2, "unit_price": "5.00"}],
        },
        timeout=10,
    )
    assert order.status_code == 201, order.text
    assert order.json()["state"] == "backordered"
    order_id = order.json()["id"]
    received = api.post(
        f"{base}/api/v1/stock/adjustments/",
        json={"sku": "E2E-1", "warehouse": "E2E", "delta": 2, "reason": "receipt", "reference": "PO-E2E"},
        timeout=10,
    )
    assert received.status_code in (200, 201), received.text

    def released():
        # allocated by the backorder sweep, then released to the warehouse (auto_release is on)
        body = api.get(f"{base}/api/v1/orders/{order_id}/", timeout=10).json()
        return body if body["state"] == "in_fulfillment" else None

    body = _wait(released, 90, _Alive(), var / "log" / "worker.log")
    assert body["lines"][0]["allocations"] == [{"warehouse": "E2E", "quantity": 2}]
    worker_log = (var / "log" / "worker.log").read_text()
    assert "orders_allocate_backorders_task" in worker_log
    assert "order_release_to_warehouse_task" in worker_log


class _Alive:
    """A stand-in process for _wait when only the deadline matters."""

    def poll(self):
        return None


def test_orders_arrive_from_the_fake_marketplaces_and_each_fake_shows_its_state(running_stack):
    base, var, log = running_stack
    key = (var / "demo-api-key.txt").read_text().strip()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {key}"
    text = log.read_text()
    for channel in FAKE_CHANNELS:

        def arrived(channel=channel):
            answer = api.get(f"{base}/api/v1/orders/", params={"channel": channel}, timeout=10).json()
            return answer["results"] if answer.get("results") else None

        orders = _wait(arrived, 120, _Alive(), var / "log" / "worker.log")
        assert all(o["channel"] == channel for o in orders)
        assert channel in text  # named among the fakes make run started
        args = (var / "fakes" / f"{channel}.args").read_text().split("\n")
        port = args[args.index("--port") + 1]
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "<h1>" in page.text
