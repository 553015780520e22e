"""A small tenant's task is not stuck behind a big tenant's backlog (oms/core/fairness.py), in a real worker.

The big tenant publishes BACKLOG tasks of about 50 ms through the task base (as the outbox relay
does); once the worker is into that backlog the small tenant publishes one. With fairness on
(Redis broker) the small task runs after at most the big tenant's SHARE tasks at normal
priority, the task running and the one the worker has already taken. With fairness off it
waits for the whole backlog. On the embedded filesystem broker, which has no priorities, it
still runs (first in, first out).
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.core.cache import cache

from oms.core.outbox import OutboxTask
from oms.models import AuditEvent
from tests.e2e.fault_tasks import DONE, FAULT_TASKS
from tests.e2e.worker import producer, running_worker, wait_for
from tests.oms.factories import TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("REDIS_URL", "")
BACKLOG = 150
SHARE = 10  # the big tenant's tasks waiting at the normal priority
TASK_SECONDS = 0.05


def _sleep_task(app):
    """The worker's tests.e2e.fault_tasks.fault_sleep_task, published through the app's task base."""

    @app.task(name="tests.e2e.fault_tasks.fault_sleep_task", base=OutboxTask, shared=False)
    def fault_sleep_task(*, tenant_id: int, token: str, seconds: float) -> str:
        raise AssertionError("only published from here")

    return fault_sleep_task


def _done(tenant):
    return AuditEvent.objects.for_tenant(tenant).filter(action=DONE)


def _small_after_backlog(broker_url, tmp_path, settings, *, fairness):
    """(big tasks done when the small one was published, big tasks run before it, big tasks left)."""
    settings.TASK_FAIRNESS = fairness
    settings.TASK_QUEUED_PER_TENANT = SHARE
    cache.clear()
    big, small = TenantFactory(slug="big-importer"), TenantFactory(slug="small-shop")
    app = producer(broker_url, tmp_path)
    task = _sleep_task(app)
    log = tmp_path / "worker.log"
    with running_worker(broker_url, tmp_path, extra_args=FAULT_TASKS) as worker:
        for n in range(BACKLOG):
            task.apply_async(
                kwargs={"tenant_id": big.pk, "token": f"big-{n}", "seconds": TASK_SECONDS}, queue="default"
            )
        wait_for(lambda: _done(big).count() >= 5, process=worker, log=log)
        before = _done(big).count()
        token = uuid.uuid4().hex
        task.apply_async(kwargs={"tenant_id": small.pk, "token": token, "seconds": 0}, queue="default")
        event = wait_for(lambda: _done(small).filter(object_id=token).first(), process=worker, log=log)
        ran_before = _done(big).filter(pk__lt=event.pk).count() - before
        left = BACKLOG - _done(big).filter(pk__lt=event.pk).count()
    app.close()
    cache.clear()
    return before, ran_before, left


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set (CI sets it; a laptop may have no Redis)")
def test_on_redis_a_small_tenants_task_runs_ahead_of_a_big_tenants_backlog(tmp_path, settings, figures):
    before, ran_before, left = _small_after_backlog(REDIS_URL, tmp_path, settings, fairness=True)
    figures(f"fair: {before} of {BACKLOG} big tasks done, {ran_before} ran before the small one, {left} left")
    assert ran_before <= SHARE + 3
    assert left >= BACKLOG // 2  # the backlog was still there: the small task did not wait for it


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set (CI sets it; a laptop may have no Redis)")
def test_on_redis_without_fairness_the_small_task_waits_for_the_backlog(tmp_path, settings, figures):
    before, ran_before, left = _small_after_backlog(REDIS_URL, tmp_path, settings, fairness=False)
    figures(f"unfair: {before} of {BACKLOG} big tasks done, {ran_before} more ran before the small one")
    assert left <= 2 and ran_before >= BACKLOG - before - 2


def test_on_the_filesystem_broker_fairness_degrades_to_first_in_first_out(tmp_path, settings):
    _, _, left = _small_after_backlog("filesystem://", tmp_path, settings, fairness=True)
    assert left <= 2  # no priorities there: the small task ran, after the backlog, and nothing failed
