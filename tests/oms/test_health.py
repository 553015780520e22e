"""GET /health answers 503 with its reasons when no worker is live or work waits too long."""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu import Connection

from oms import health
from oms.celery import app
from oms.core.outbox import outbox_write
from oms.models import OutboxMessage, WorkerHeartbeat
from oms.workers import worker_heartbeat_record
from tests.e2e.redis_server import RedisServer, needs_redis_server
from tests.e2e.worker import filesystem_transport_options, producer

ALL = ["default", "ingest", "allocation", "labels", "sync"]


@pytest.fixture
def with_workers(settings):
    """Tasks go to workers (as in production), and only the check under test can fail."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_QUEUES_ALL = ALL
    settings.HEALTH_WORKER_STALE_SECONDS = 60
    settings.HEALTH_QUEUE_MAX_AGE_SECONDS = 10**9
    return settings


def _get(client):
    response = client.get("/health")
    return response.status_code, response.json()


def test_no_live_worker_answers_503_with_the_reason(client, db, with_workers):
    status, body = _get(client)
    assert status == 503
    assert body["status"] == "degraded"
    assert "no worker has reported in the last 60 s" in body["reasons"]
    assert body["database"] == "ok" and body["broker"] == "ok"


def test_live_workers_for_every_queue_answer_200(client, db, with_workers):
    worker_heartbeat_record(name="allocation@host:10", queues=["default", "allocation"])
    worker_heartbeat_record(name="vendors@host:11", queues=["ingest", "sync", "labels"])
    status, body = _get(client)
    assert status == 200, body
    assert body["reasons"] == []
    assert [w["name"] for w in body["workers"]["alive"]] == ["vendors@host:11", "allocation@host:10"]
    assert body["workers"]["queues_without_worker"] == []


def test_a_queue_no_live_worker_consumes_is_a_reason(client, db, with_workers):
    worker_heartbeat_record(name="allocation@host:10", queues=["default", "allocation"])
    status, body = _get(client)
    assert status == 503
    assert body["reasons"] == [
        "no live worker consumes queue ingest",
        "no live worker consumes queue labels",
        "no live worker consumes queue sync",
    ]


def test_a_worker_that_stopped_refreshing_counts_as_gone(client, db, with_workers):
    worker_heartbeat_record(name="celery@host:10", queues=ALL)
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(seconds=90))
    status, body = _get(client)
    assert status == 503
    assert body["workers"]["alive"] == []
    assert [w["name"] for w in body["workers"]["gone"]] == ["celery@host:10"]
    assert body["workers"]["gone"][0]["seen_seconds_ago"] >= 90


def test_eager_tasks_need_no_worker(client, db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.HEALTH_QUEUE_MAX_AGE_SECONDS = 10**9
    status, body = _get(client)
    assert status == 200, body
    assert body["workers"] == {"required": False}


def test_a_message_waiting_too_long_on_a_queue_answers_503(client, db, with_workers):
    """Whatever broker the suite runs on (Redis in CI, the embedded one on a laptop)."""
    worker_heartbeat_record(name="celery@host:10", queues=ALL)
    app.send_task("oms.tasks.worker_ping_task", kwargs={"tenant_id": 0, "token": "old"}, queue="labels")
    try:
        time.sleep(0.05)
        with_workers.HEALTH_QUEUE_MAX_AGE_SECONDS = 0
        status, body = _get(client)
        assert status == 503
        assert body["queues"]["lengths"]["labels"] >= 1
        assert body["queues"]["oldest_age_seconds"] >= 0
        assert [r for r in body["reasons"] if "queue labels has waited" in r], body["reasons"]
        with_workers.HEALTH_QUEUE_MAX_AGE_SECONDS = 3600
        assert _get(client)[0] == 200
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("labels")


def test_an_outbox_row_waiting_too_long_answers_503(client, db, with_workers, tenant_a):
    worker_heartbeat_record(name="celery@host:10", queues=ALL)
    with_workers.HEALTH_OUTBOX_MAX_AGE_SECONDS = 300
    row = outbox_write(
        "oms.tasks.worker_ping_task", {"tenant_id": tenant_a.pk, "token": "t"}, tenant_id=tenant_a.pk
    )
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(seconds=400))
    status, body = _get(client)
    assert status == 503
    assert body["outbox"]["pending"] == 1 and body["outbox"]["oldest_pending_age_seconds"] >= 400
    assert len(body["reasons"]) == 1 and body["reasons"][0].startswith("the oldest outbox row has waited 4")
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(seconds=10))
    assert _get(client)[0] == 200


def _publish(sender, queue, count):
    for _ in range(count):
        sender.send_task("oms.tasks.worker_ping_task", kwargs={"tenant_id": 0, "token": "q"}, queue=queue)


def test_queue_stats_on_the_embedded_broker(tmp_path):
    sender = producer("filesystem://", tmp_path)
    _publish(sender, "sync", 2)
    sender.close()
    time.sleep(0.2)
    with Connection("filesystem://", transport_options=filesystem_transport_options(tmp_path)) as conn:
        stats = health.queue_stats(conn, ALL)
    assert stats["lengths"] == {"default": 0, "ingest": 0, "allocation": 0, "labels": 0, "sync": 2}
    assert list(stats["ages"]) == ["sync"] and 0.2 <= stats["ages"]["sync"] < 30


@needs_redis_server
def test_queue_stats_on_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        url = server.url(2)
        sender = producer(url, tmp_path)  # starts from empty queues
        _publish(sender, "sync", 3)
        time.sleep(0.2)
        _publish(sender, "default", 1)
        sender.close()
        # A message a worker holds (in the unacked hash) is reported as held, not queued.
        server.client(2).hset("unacked", uuid.uuid4().hex, "[]")
        with Connection(url) as conn:
            stats = health.queue_stats(conn, ALL)
        assert stats["lengths"] == {"default": 1, "ingest": 0, "allocation": 0, "labels": 0, "sync": 3}
        assert stats["held"] == 1
        assert 0.2 <= stats["ages"]["sync"] < 30 and stats["ages"]["default"] < stats["ages"]["sync"]
    finally:
        with contextlib.suppress(Exception):
            server.stop()
