"""A task enqueued through the broker is executed by a real worker process."""

from __future__ import annotations

import os
import uuid

import pytest

from oms.models import AuditEvent
from tests.e2e.worker import producer, running_worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("REDIS_URL", "")


def _ping_through_worker(broker_url, tmp_path, tenant):
    token = uuid.uuid4().hex
    app = producer(broker_url, tmp_path)
    with running_worker(broker_url, tmp_path) as worker:
        app.send_task(
            "oms.tasks.worker_ping_task", kwargs={"tenant_id": tenant.pk, "token": token}, queue="default"
        )
        event = wait_for(
            lambda: (
                AuditEvent.objects.for_tenant(tenant).filter(action="worker.ping", object_id=token).first()
            ),
            process=worker,
            log=tmp_path / "worker.log",
        )
    assert event.actor == "task"
    app.close()


def test_embedded_filesystem_broker_runs_task_in_real_worker(tmp_path, tenant_a):
    _ping_through_worker("filesystem://", tmp_path, tenant_a)


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set (CI sets it; a laptop may have no Redis)")
def test_redis_broker_runs_task_in_real_worker(tmp_path, tenant_a):
    _ping_through_worker(REDIS_URL, tmp_path, tenant_a)


def test_a_test_producer_does_not_become_the_current_app(tmp_path):
    from celery import current_app

    from oms.celery import app as oms_app
    from tests.e2e.worker import producer

    before = current_app._get_current_object()
    producer("filesystem://", tmp_path)
    assert current_app._get_current_object() is before is oms_app
    assert oms_app.conf.task_always_eager is True
