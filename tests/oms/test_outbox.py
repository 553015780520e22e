"""The transactional outbox: written with its cause, relayed once, retried with backoff, purged."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from oms.celery import app as celery_app
from oms.core import outbox
from oms.core.outbox import (
    outbox_kick,
    outbox_oldest_pending_age,
    outbox_purge,
    outbox_relay,
    outbox_relay_pending,
    outbox_retry_failed,
)
from oms.core.tasks import enqueue_on_commit
from oms.models import AuditEvent, OutboxMessage
from tests.e2e.worker import filesystem_transport_options

PING = "oms.tasks.worker_ping_task"
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once


def _reset_broker_connections():
    celery_app._pool = None
    if "amqp" in celery_app.__dict__:
        celery_app.amqp._producer_pool = None


@contextlib.contextmanager
def broker(url, tmp_path=None):
    """Publish through `url` for real (not eagerly) while the block runs."""
    conf = celery_app.conf
    saved = {key: conf[key] for key in ("task_always_eager", "broker_write_url", "broker_transport_options")}
    conf.task_always_eager = False
    conf.broker_write_url = url
    conf.broker_transport_options = filesystem_transport_options(tmp_path) if tmp_path else {}
    _reset_broker_connections()
    outbox._kick_paused_until = 0.0
    try:
        yield
    finally:
        conf.update(saved)
        _reset_broker_connections()
        outbox._kick_paused_until = 0.0


def queued_messages(tmp_path):
    """The messages waiting in the embedded (filesystem) broker: [(task name, outbox id, kwargs)]."""
    found = []
    for path in sorted((tmp_path / "broker" / "queue").glob("*.msg")):
        message = json.loads(path.read_text())
        headers = message["headers"]
        body = json.loads(base64.b64decode(message["body"]))
        found.append((headers["task"], headers.get("outbox_id"), body[1]))
    return found


def _ping_rows(tenant):
    return AuditEvent.objects.for_tenant(tenant).filter(action="worker.ping")


# --- written in the same transaction -------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_on_the_embedded_broker_a_row_commits_and_rolls_back_with_its_transaction(tmp_path, tenant_a):
    class Boom(Exception):
        pass

    with broker("filesystem://", tmp_path):
        with pytest.raises(Boom), transaction.atomic():
            enqueue_on_commit(PING, tenant_id=tenant_a.pk, token="rolled-back")
            assert OutboxMessage.objects.filter(kwargs__token="rolled-back").exists()  # inside: written
            raise Boom
        assert not OutboxMessage.objects.exists()
        assert queued_messages(tmp_path) == []

        with transaction.atomic():
            enqueue_on_commit(PING, tenant_id=tenant_a.pk, token="committed")
            row = OutboxMessage.objects.get()
            assert row.state == "pending"
            assert queued_messages(tmp_path) == []  # nothing leaves before the commit
        row.refresh_from_db()
        assert (row.state, row.tenant_id, row.attempts) == ("sent", tenant_a.pk, 1)
        assert queued_messages(tmp_path) == [(PING, row.pk, {"tenant_id": tenant_a.pk, "token": "committed"})]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_row_is_written_and_sent_at_once(tmp_path, tenant_a):
    with broker("filesystem://", tmp_path):
        enqueue_on_commit(PING, tenant_id=tenant_a.pk, token="now")
        row = OutboxMessage.objects.get()
        assert row.state == "sent"
        assert [m[1] for m in queued_messages(tmp_path)] == [row.pk]


# --- broker down ------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_change_commits_and_the_row_waits_with_backoff(tmp_path, tenant_a):
    with broker(CLOSED_PORT_BROKER):
        with transaction.atomic():
            enqueue_on_commit(PING, tenant_id=tenant_a.pk, token="t1")  # the kick fails: no error here
        row = OutboxMessage.objects.get()
        assert (row.state, row.attempts) == ("pending", 1)
        assert "OperationalError" in row.last_error
        assert row.available_at > timezone.now()  # backoff
        assert outbox_relay().sent == 0  # not due yet
        enqueue_on_commit(PING, tenant_id=tenant_a.pk, token="t2")  # kicks pause after a failure
        assert OutboxMessage.objects.get(kwargs__token="t2").attempts == 0
    OutboxMessage.objects.update(available_at=timezone.now())
    with broker("filesystem://", tmp_path):
        result = outbox_relay_pending()
    assert (result.sent, result.retrying) == (2, 0)
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
    assert sorted(m[2]["token"] for m in queued_messages(tmp_path)) == ["t1", "t2"]


@pytest.mark.django_db(transaction=True)
def test_a_kick_never_raises_into_the_caller(tenant_a, monkeypatch):
    def broken_relay(**_):
        raise RuntimeError("database went away")

    monkeypatch.setattr(outbox, "outbox_relay", broken_relay)
    with broker(CLOSED_PORT_BROKER):
        outbox_kick([1, 2, 3])  # no exception


def test_backoff_grows_and_is_capped():
    assert [outbox._backoff(n).total_seconds() for n in (1, 2, 3, 4, 20)] == [1, 2, 4, 8, 300]


# --- delivered once -----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_second_delivery_of_a_row_is_recognised_and_skipped(tenant_a):
    """worker_ping_task writes an audit event every time it runs: it is not idempotent by itself."""
    enqueue_on_commit(PING, tenant_id=tenant_a.pk, token="once")  # eager: runs now
    row = OutboxMessage.objects.get()
    assert row.done_at is not None and _ping_rows(tenant_a).count() == 1
    # The relay died after publishing and before marking the row sent: it publishes it again.
    OutboxMessage.objects.filter(pk=row.pk).update(state="pending", sent_at=None, available_at=timezone.now())
    assert outbox_relay().sent == 1
    assert _ping_rows(tenant_a).count() == 1
    # A plain call (not from the outbox) is not affected.
    celery_app.tasks[PING].delay(tenant_id=tenant_a.pk, token="plain")
    assert _ping_rows(tenant_a).count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED: PostgreSQL only")
def test_relays_side_by_side_send_each_row_once(tenant_a, monkeypatch):
    rows = OutboxMessage.objects.bulk_create(
        OutboxMessage(task=PING, kwargs={"tenant_id": tenant_a.pk, "token": str(n)}) for n in range(300)
    )
    published = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def fake_publish(task, row):
        with lock:
            published.append(row.pk)

    monkeypatch.setattr(outbox, "_publish", fake_publish)

    def relay():
        start.wait()
        try:
            while outbox_relay(limit=7).sent:
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(published) == sorted(row.pk for row in rows)  # each once, none left
    assert OutboxMessage.objects.filter(state="sent").count() == 300


# --- failed rows, purge, age -------------------------------------------------------------------
@pytest.mark.django_db
def test_a_row_naming_no_task_fails_and_can_be_sent_again(tenant_a):
    enqueue_on_commit("oms.tasks.no_such_task", tenant_id=tenant_a.pk)
    row = OutboxMessage.objects.get()
    assert outbox_relay().failed == 1
    row.refresh_from_db()
    assert row.state == "failed" and "AttributeError" in row.last_error
    assert outbox_relay().failed == 0  # failed rows are not retried by themselves
    assert outbox_retry_failed() == 1
    assert OutboxMessage.objects.get().state == "pending"


@pytest.mark.django_db
def test_sent_rows_are_purged_after_the_retention(tenant_a, settings):
    settings.OUTBOX_RETENTION_DAYS = 7
    now = timezone.now()
    old_sent = OutboxMessage.objects.create(task=PING, state="sent", sent_at=now - timedelta(days=8))
    new_sent = OutboxMessage.objects.create(task=PING, state="sent", sent_at=now - timedelta(days=6))
    old_pending = OutboxMessage.objects.create(task=PING, created_at=now - timedelta(days=30))
    old_failed = OutboxMessage.objects.create(task=PING, state="failed", created_at=now - timedelta(days=30))
    assert celery_app.tasks["oms.tasks.outbox_purge_task"].delay().get() == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {
        new_sent.pk,
        old_pending.pk,
        old_failed.pk,
    }
    assert outbox_purge() == 0
    assert not OutboxMessage.objects.filter(pk=old_sent.pk).exists()


@pytest.mark.django_db
def test_the_age_of_the_oldest_pending_row(tenant_a):
    now = timezone.now()
    assert outbox_oldest_pending_age(now=now) is None
    OutboxMessage.objects.create(task=PING, state="sent", created_at=now - timedelta(hours=1))
    OutboxMessage.objects.create(task=PING, created_at=now - timedelta(seconds=90))
    OutboxMessage.objects.create(task=PING, created_at=now - timedelta(seconds=10))
    assert outbox_oldest_pending_age(now=now) == 90.0


@pytest.mark.django_db
def test_the_outbox_command_lists_pending_and_failed_rows(tenant_a, capsys):
    enqueue_on_commit(PING, tenant_id=tenant_a.pk, token="waiting")
    enqueue_on_commit("oms.tasks.no_such_task", tenant_id=tenant_a.pk)
    outbox_relay(ids=[OutboxMessage.objects.get(task="oms.tasks.no_such_task").pk])
    call_command("outbox")
    out = capsys.readouterr().out
    assert "pending: 1  failed: 1" in out
    assert "pending oms.tasks.worker_ping_task tenant=acme" in out and "waiting" in out
    assert "failed oms.tasks.no_such_task tenant=acme" in out and "AttributeError" in out
