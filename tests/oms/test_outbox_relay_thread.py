"""The relay thread: a commit hands its outbox rows over and returns; the thread sends each row once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oms.core import outbox
from oms.core.outbox import outbox_relay_pending
from oms.core.tasks import enqueue_on_commit
from oms.models import OutboxMessage
from tests.oms.test_outbox import CLOSED_PORT_BROKER, PING, broker, queued_messages

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the relay thread runs on PostgreSQL only"),
]


@pytest.fixture
def relay_thread_on(settings):
    settings.OUTBOX_RELAY_THREAD = True
    outbox.kick_stats.latencies.clear()
    yield outbox.relay_thread
    outbox.relay_thread.stop()  # ends the thread and closes its database connection


def test_a_commit_hands_its_rows_over_and_the_thread_sends_each_once(tmp_path, tenant_a, relay_thread_on):
    with broker("filesystem://", tmp_path):
        with CaptureQueriesContext(connection) as after_commit:
            for n in range(20):
                with transaction.atomic():
                    enqueue_on_commit(PING, tenant_id=tenant_a.pk, token=f"t{n}")
        assert relay_thread_on.wait_idle(10)
        sent = queued_messages(tmp_path)
    rows = OutboxMessage.objects.order_by("pk")
    assert [m[1] for m in sorted(sent, key=lambda m: m[1])] == [row.pk for row in rows]  # each once
    assert set(rows.values_list("state", "attempts")) == {("sent", 1)}
    # the committing thread ran only its own transactions: the relay's claims and marks ran elsewhere
    relay_sql = [q["sql"] for q in after_commit.captured_queries if "FOR UPDATE SKIP LOCKED" in q["sql"]]
    assert relay_sql == []
    assert len(outbox.kick_stats.latencies) == 20
    assert max(outbox.kick_stats.latencies) < 5.0


def test_a_rolled_back_transaction_hands_nothing_over(tmp_path, tenant_a, relay_thread_on):
    with broker("filesystem://", tmp_path):
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            enqueue_on_commit(PING, tenant_id=tenant_a.pk, token="rolled-back")
            1 / 0  # noqa: B018
        assert relay_thread_on.wait_idle(5)
        assert queued_messages(tmp_path) == []
    assert not OutboxMessage.objects.exists()


def test_with_the_broker_down_the_rows_wait_and_the_beat_relay_sends_them_once(
    tmp_path, tenant_a, relay_thread_on
):
    with broker(CLOSED_PORT_BROKER):
        for n in range(3):
            with transaction.atomic():
                enqueue_on_commit(PING, tenant_id=tenant_a.pk, token=f"down{n}")
        assert relay_thread_on.wait_idle(10)
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"pending"}
    OutboxMessage.objects.update(available_at=timezone.now())
    with broker("filesystem://", tmp_path):
        result = outbox_relay_pending()
    assert (result.sent, result.retrying) == (3, 0)
    assert sorted(m[2]["token"] for m in queued_messages(tmp_path)) == ["down0", "down1", "down2"]


def test_the_thread_and_the_beat_relay_side_by_side_send_each_row_once(
    tenant_a, relay_thread_on, monkeypatch
):
    published: list[int] = []
    lock = threading.Lock()

    def fake_publish(task, row):
        with lock:
            published.append(row.pk)

    monkeypatch.setattr(outbox, "_publish", fake_publish)
    with broker("memory://"):
        beat_done = threading.Event()

        def beat():
            try:
                while not beat_done.is_set():
                    outbox_relay_pending()
            finally:
                connection.close()

        relay = threading.Thread(target=beat)
        relay.start()
        try:
            for n in range(150):
                with transaction.atomic():
                    enqueue_on_commit(PING, tenant_id=tenant_a.pk, token=str(n))
            assert relay_thread_on.wait_idle(10)
        finally:
            beat_done.set()
            relay.join()
        outbox_relay_pending()
    assert sorted(published) == sorted(OutboxMessage.objects.values_list("pk", flat=True))
    assert len(published) == 150
    assert OutboxMessage.objects.filter(state="sent").count() == 150


def test_a_row_written_for_the_thread_is_leased_to_it_and_sent_without_a_claim(
    tmp_path, tenant_a, relay_thread_on, monkeypatch
):
    claims = []
    claim = outbox._claim
    monkeypatch.setattr(outbox, "_claim", lambda **kw: claims.append(kw) or claim(**kw))
    with broker("filesystem://", tmp_path):
        before = timezone.now()
        for n in range(5):
            with transaction.atomic():
                enqueue_on_commit(PING, tenant_id=tenant_a.pk, token=Decimal(f"1.5{n}"))
        assert relay_thread_on.wait_idle(10)
        sent = queued_messages(tmp_path)
    rows = list(OutboxMessage.objects.order_by("pk"))
    assert claims == []
    assert all(row.available_at >= before + timedelta(seconds=outbox.CLAIM_SECONDS) for row in rows)
    published = [(m[1], m[2]["token"]) for m in sorted(sent, key=lambda m: m[1])]
    assert published == [(row.pk, f"1.5{n}") for n, row in enumerate(rows)]  # as the table holds it
    assert {(row.state, row.attempts) for row in rows} == {("sent", 1)}


def test_a_leased_row_whose_process_died_is_sent_by_the_beat_relay_once_the_lease_ends(
    tmp_path, tenant_a, relay_thread_on, monkeypatch
):
    monkeypatch.setattr(outbox.relay_thread, "submit", lambda items: None)  # the commit, then nothing
    with broker("filesystem://", tmp_path):
        with transaction.atomic():
            enqueue_on_commit(PING, tenant_id=tenant_a.pk, token="orphan")
        assert outbox_relay_pending().sent == 0  # leased: not the beat relay's yet
        OutboxMessage.objects.update(available_at=timezone.now())  # the lease ran out
        assert outbox_relay_pending().sent == 1
        assert outbox_relay_pending().sent == 0
        assert [m[2]["token"] for m in queued_messages(tmp_path)] == ["orphan"]


def test_rows_written_while_the_kicks_are_paused_are_not_leased(tenant_a, relay_thread_on, monkeypatch):
    with broker(CLOSED_PORT_BROKER):
        monkeypatch.setattr(outbox, "_kick_paused_until", time.monotonic() + 60)  # the broker was found down
        with transaction.atomic():
            enqueue_on_commit(PING, tenant_id=tenant_a.pk, token="paused")
        assert relay_thread_on.wait_idle(5)
    row = OutboxMessage.objects.get()
    assert row.state == "pending" and row.available_at <= timezone.now()  # the beat relay's at once
