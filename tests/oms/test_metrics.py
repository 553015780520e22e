"""GET /metrics: what a Prometheus scrape sees after work happened, and who may scrape."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import stripe
from django.test import Client
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from fulfillment.carriers import CarrierUnavailable
from integrations.models import ChannelAccount, InboundEvent
from integrations.shippo.gateway import ShippoGateway
from integrations.stripe.gateway import StripeGateway
from integrations.vendor_http import http_checked, http_send
from oms.celery import app
from oms.core.outbox import outbox_write
from oms.models import OutboxMessage
from orders.payments.gateway import PaymentDeclined, PaymentGatewayUnavailable
from tests.e2e import worker as e2e_worker
from tests.e2e.redis_server import RedisServer, needs_redis_server
from tests.e2e.worker import producer, running_web, running_worker, wait_for
from tests.inventory.conftest import sku_a, sku_b, warehouses  # noqa: F401  (fixtures)
from tests.inventory.factories import SKUFactory
from tests.orders.conftest import order_payload, stocked  # noqa: F401
from tests.orders.payments.factories import make_stripe_account

ROOT = Path(__file__).resolve().parents[2]
ALL = ["default", "ingest", "allocation", "labels", "sync"]
RABBITMQ_URL = os.environ.get("OMS_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def scrape(client=None, **headers) -> dict[tuple[str, frozenset], float]:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def broker_at(monkeypatch, url: str) -> None:
    """The app's broker connections (what /metrics and /health read) go to `url`."""
    monkeypatch.setitem(app.conf, "broker_write_url", url)


# --- counters where the work happens ------------------------------------------------------------
def test_placing_an_order_counts_it_once_by_channel(api_a, stocked, django_capture_on_commit_callbacks):  # noqa: F811
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        placed = api_a.post("/api/v1/orders/", order_payload("M-1"), format="json")
        again = api_a.post("/api/v1/orders/", order_payload("M-1"), format="json")  # the same order
        kiosk = api_a.post("/api/v1/orders/", order_payload("M-2", channel="kiosk-7"), format="json")
    assert (placed.status_code, again.status_code, kiosk.status_code) == (201, 200, 201)
    after = scrape()
    placed_total = "oms_orders_placed_total"
    assert value(after, placed_total, channel="web") - value(before, placed_total, channel="web") == 1
    # A channel outside METRICS_ORDER_CHANNELS counts as "other": the label's values stay few.
    assert value(after, placed_total, channel="other") - value(before, placed_total, channel="other") == 1
    assert not any(dict(labels).get("channel") == "kiosk-7" for _, labels in after)
    timed = sum(
        value(after, "oms_allocation_duration_seconds_count", path=path)
        - value(before, "oms_allocation_duration_seconds_count", path=path)
        for path in ("planned", "locked")
    )
    assert timed >= 2


def test_a_placement_that_rolls_back_is_not_counted(api_a, stocked):  # noqa: F811
    before = scrape()
    placed = api_a.post("/api/v1/orders/", order_payload("M-3"), format="json")
    assert placed.status_code == 201  # inside the test's transaction, which never commits
    after = scrape()
    assert value(after, "oms_orders_placed_total", channel="web") == value(
        before, "oms_orders_placed_total", channel="web"
    )


def test_vendor_errors_are_counted_by_vendor_and_kind(db):
    before = scrape()
    with pytest.raises(Exception, match="unreachable"):
        http_send(requests, "GET", "http://127.0.0.1:9/", vendor="Amazon", timeout=1)
    throttled = requests.Response()
    throttled.status_code = 429
    throttled.oms_vendor = "eBay"
    with pytest.raises(Exception, match="answered 429"):
        http_checked(throttled, answered="eBay answered {status}")
    after = scrape()
    errors = "oms_vendor_errors_total"
    assert (
        value(after, errors, vendor="amazon", kind="unreachable")
        - value(before, errors, vendor="amazon", kind="unreachable")
        == 1
    )
    assert (
        value(after, errors, vendor="ebay", kind="throttled")
        - value(before, errors, vendor="ebay", kind="throttled")
        == 1
    )


def test_stripe_and_shippo_errors_are_counted_where_their_gateways_classify_them(db):
    stripe_gateway = StripeGateway(ChannelAccount(kind="stripe", credentials="sk_test_x"))
    shippo_gateway = ShippoGateway(ChannelAccount(kind="shippo", credentials="shippo_test_x"))

    def raising(exc):
        def call():
            raise exc

        return call

    before = scrape()
    with pytest.raises(PaymentDeclined):
        stripe_gateway._call(raising(stripe.CardError("declined", None, "card_declined")))
    with pytest.raises(PaymentGatewayUnavailable):
        stripe_gateway._call(raising(stripe.RateLimitError("slow down")))
    with pytest.raises(CarrierUnavailable):
        shippo_gateway._call(raising(requests.ConnectionError("refused")))
    after = scrape()
    errors = "oms_vendor_errors_total"
    for vendor, kind in [("stripe", "declined"), ("stripe", "throttled"), ("shippo", "unreachable")]:
        assert (
            value(after, errors, vendor=vendor, kind=kind) - value(before, errors, vendor=vendor, kind=kind)
            == 1
        )


# --- gauges read at scrape time -------------------------------------------------------------------
@needs_redis_server
def test_queue_depth_and_age_on_redis(tmp_path, db, settings, monkeypatch):
    settings.CELERY_QUEUES_ALL = ALL
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        url = server.url(3)
        sender = producer(url, tmp_path)
        for _ in range(3):
            sender.send_task(
                "oms.tasks.worker_ping_task", kwargs={"tenant_id": 0, "token": "q"}, queue="sync"
            )
        sender.send_task("oms.tasks.worker_ping_task", kwargs={"tenant_id": 0, "token": "q"}, queue="default")
        sender.close()
        time.sleep(0.2)
        broker_at(monkeypatch, url)
        samples = scrape()
    finally:
        with contextlib.suppress(Exception):
            server.stop()
    assert value(samples, "oms_metrics_source_up", source="broker") == 1
    assert value(samples, "oms_queue_messages", queue="sync") == 3
    assert value(samples, "oms_queue_messages", queue="default") == 1
    assert value(samples, "oms_queue_messages", queue="allocation") == 0
    assert 0.2 <= value(samples, "oms_queue_oldest_message_age_seconds", queue="sync") < 60
    assert ("oms_queue_oldest_message_age_seconds", frozenset({("queue", "ingest")})) in samples  # 0: empty


def _rabbitmq_up() -> bool:
    try:
        with Connection(RABBITMQ_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:
        return False
    return True


@pytest.mark.skipif(not _rabbitmq_up(), reason="needs a RabbitMQ server on 127.0.0.1:5672")
def test_queue_depth_on_rabbitmq_and_no_age(db, settings, monkeypatch):
    queue, missing = f"oms-test-{uuid.uuid4().hex[:8]}", f"oms-test-{uuid.uuid4().hex[:8]}"
    settings.CELERY_QUEUES_ALL = [queue, missing]
    with Connection(RABBITMQ_URL) as conn:
        channel = conn.channel()
        channel.queue_declare(queue=queue, durable=False, auto_delete=False)
        for index in range(3):
            channel.basic_publish(
                conn.default_channel.prepare_message(f"m{index}".encode()), exchange="", routing_key=queue
            )
        try:
            time.sleep(0.2)
            broker_at(monkeypatch, RABBITMQ_URL)
            samples = scrape()
        finally:
            channel.queue_delete(queue)
            channel.close()
    assert value(samples, "oms_metrics_source_up", source="broker") == 1
    assert value(samples, "oms_queue_messages", queue=queue) == 3
    assert value(samples, "oms_queue_messages", queue=missing) == 0  # never declared: nothing waits
    # AMQP cannot show the oldest message without taking it: no age series rather than a false 0.
    assert not any(name == "oms_queue_oldest_message_age_seconds" for name, _ in samples)


def test_a_broker_that_is_down_is_a_source_down_not_a_failed_scrape(db, monkeypatch):
    broker_at(monkeypatch, "redis://127.0.0.1:9/0")
    samples = scrape()
    assert value(samples, "oms_metrics_source_up", source="broker") == 0
    assert value(samples, "oms_metrics_source_up", source="outbox") == 1
    assert not any(name == "oms_queue_messages" for name, _ in samples)


def test_inbox_backlog_dead_letters_and_outbox_lag_reflect_rows(tenant_a, tenant_b):
    before = scrape()
    a, b = make_stripe_account(tenant_a), make_stripe_account(tenant_b, secret="whsec_b")
    for account, event_id, state in [
        (a, "e1", "received"),
        (b, "e2", "received"),
        (a, "e3", "failed"),
        (a, "e4", "dead"),
        (b, "e5", "dead"),
        (a, "e6", "processed"),
    ]:
        InboundEvent.objects.create(
            tenant_id=account.tenant_id, source="stripe", account=account, event_id=event_id, state=state
        )
    InboundEvent.objects.unscoped().filter(event_id="e1").update(received_at="2020-01-01T00:00:00Z")
    pending = outbox_write("oms.tasks.worker_ping_task", {"tenant_id": tenant_a.pk, "token": "x"})
    OutboxMessage.objects.filter(pk=pending.pk).update(created_at="2020-01-01T00:00:00Z")
    failed = outbox_write("oms.tasks.worker_ping_task", {"tenant_id": tenant_a.pk, "token": "y"})
    OutboxMessage.objects.filter(pk=failed.pk).update(state="failed")
    after = scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("oms_inbox_backlog", source="stripe") == 3  # received and failed, every tenant
    assert delta("oms_inbox_dead_letters", source="stripe") == 2
    assert value(after, "oms_inbox_oldest_backlog_age_seconds") > 3600 * 24 * 365
    assert delta("oms_outbox_failed") == 1
    assert delta("oms_outbox_pending") == 1
    assert value(after, "oms_outbox_oldest_pending_age_seconds") > 3600 * 24 * 365
    assert value(after, "oms_metrics_source_up", source="inbox") == 1
    # Per installation: no series names a tenant.
    assert not any(key in ("tenant", "tenant_id") for _, labels in after for key, _ in labels)


# --- who may scrape ----------------------------------------------------------------------------
def test_with_a_token_only_its_bearer_may_scrape(db, settings):
    settings.METRICS_TOKEN = "s3cret-metrics"
    client = Client()
    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert b"oms_" not in missing.content + wrong.content
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics", REMOTE_ADDR="10.1.2.3")
    assert right.status_code == 200 and b"oms_metrics_source_up" in right.content


def test_without_a_token_only_this_host_may_scrape_and_production_nobody(db, settings):
    settings.METRICS_TOKEN = ""
    client = Client()
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    # A proxy on this host forwards outside clients from 127.0.0.1: still refused.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert client.get("/metrics").status_code == 200
    settings.METRICS_LOOPBACK_WITHOUT_TOKEN = False  # oms.settings.prod
    refused = client.get("/metrics")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"


# --- several processes, one scrape ------------------------------------------------------------------
INCREMENT = """
import sys, django
django.setup()
from oms.metrics import VendorErrorKind, order_placed_on_commit, vendor_error
for _ in range(int(sys.argv[1])):
    order_placed_on_commit(channel="amazon")  # no transaction open: counted at once
vendor_error("Shippo", VendorErrorKind.SERVER_ERROR)
"""


def test_counts_of_several_processes_add_up_in_one_scrape(db, tmp_path, monkeypatch):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.test",
        "DATABASE_URL": e2e_worker.test_database_url(),  # on_commit asks the database connection
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    workers = [subprocess.Popen([sys.executable, "-c", INCREMENT, str(n)], cwd=ROOT, env=env) for n in (3, 4)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the scrape reads that directory
    samples = scrape()
    assert value(samples, "oms_orders_placed_total", channel="amazon") == 7
    assert value(samples, "oms_vendor_errors_total", vendor="shippo", kind="server_error") == 2


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_gunicorn_workers_and_a_celery_worker_count_into_one_scrape(
    tmp_path,
    monkeypatch,
    tenant_a,
    key_a,
    stocked,  # noqa: F811
):
    """Two gunicorn workers answer the scrapes in turn: every scrape shows the node's totals, and
    an allocation done by the Celery worker's pool process is in them too."""
    SKUFactory(tenant=tenant_a, code="E2E-WAIT")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))  # inherited by both
    (tmp_path / "metrics").mkdir()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key_a[1]}"

    def read(base):
        text = requests.get(f"{base}/metrics", timeout=10).text
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    with running_worker("filesystem://", tmp_path) as worker, running_web("filesystem://", tmp_path) as base:
        for index in range(3):
            placed = session.post(f"{base}/api/v1/orders/", json=order_payload(f"E2E-{index}"), timeout=30)
            assert placed.status_code == 201, placed.text
        waiting = order_payload("E2E-W", lines=[{"sku": "E2E-WAIT", "quantity": 1, "unit_price": "5.00"}])
        order = session.post(f"{base}/api/v1/orders/", json=waiting, timeout=30).json()
        assert order["state"] == "backordered", order
        scrapes = [read(base) for _ in range(6)]
        assert {value(s, "oms_orders_placed_total", channel="web") for s in scrapes} == {4}
        locked_before = value(scrapes[-1], "oms_allocation_duration_seconds_count", path="locked")
        receipt = {"sku": "E2E-WAIT", "warehouse": "W1", "delta": 1, "reason": "receipt", "reference": "PO-1"}
        received = session.post(f"{base}/api/v1/stock/adjustments/", json=receipt, timeout=30)
        assert received.status_code == 200, received.text

        def allocated():
            state = session.get(f"{base}/api/v1/orders/{order['id']}/", timeout=10).json()["state"]
            return state in ("allocated", "in_fulfillment")

        wait_for(allocated, timeout=90, process=worker, log=tmp_path / "worker.log")
        after = read(base)
    # the backorder sweep allocated it in the worker: its pool process's file is in the sum
    assert value(after, "oms_allocation_duration_seconds_count", path="locked") > locked_before
    assert value(after, "oms_orders_placed_total", channel="web") == 4
