"""Fair queues: a tenant over its share of task publishes gets the low broker priority, others do not."""

from __future__ import annotations

import pytest
from celery.app.task import Task
from django.core.cache import cache

from oms.celery import app
from oms.core.fairness import LOW_PRIORITY, fair_publish_options
from orders.tasks import order_allocate_task


@pytest.fixture(autouse=True)
def _publishing(settings, monkeypatch):
    """As in production: tasks published to a broker (not run eagerly), a share of 3 per minute."""
    cache.clear()
    settings.TASK_FAIRNESS = True
    settings.TASK_RATE_PER_TENANT = "3/min"
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    yield
    cache.clear()


def _priorities(tenant_id, count):
    return [fair_publish_options(app, {"tenant_id": tenant_id}, {}).get("priority") for _ in range(count)]


def test_past_its_share_a_tenants_tasks_go_at_low_priority_and_another_tenants_do_not():
    assert _priorities(1, 5) == [None, None, None, LOW_PRIORITY, LOW_PRIORITY]
    assert _priorities(2, 3) == [None, None, None]


def test_tasks_without_a_tenant_and_explicit_priorities_are_left_alone():
    _priorities(1, 10)
    assert fair_publish_options(app, {"order_id": 5}, {}) == {}
    assert fair_publish_options(app, None, {"queue": "default"}) == {"queue": "default"}
    assert fair_publish_options(app, {"tenant_id": 1}, {"priority": 0}) == {"priority": 0}


def test_turned_off_every_task_keeps_the_normal_priority(settings):
    settings.TASK_FAIRNESS = False
    assert _priorities(1, 6) == [None] * 6


def test_a_cache_that_fails_publishes_as_usual(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr("oms.core.fairness.window_take", broken)
    assert _priorities(1, 5) == [None] * 5


def test_the_task_base_publishes_with_the_fair_priority(monkeypatch):
    sent = []

    def publish(self, args=None, kwargs=None, **options):
        sent.append(options)

    monkeypatch.setattr(Task, "apply_async", publish)
    for _ in range(4):
        order_allocate_task.apply_async(kwargs={"tenant_id": 7, "order_id": 1}, queue="allocation")
    order_allocate_task.apply_async(kwargs={"tenant_id": 8, "order_id": 2}, queue="allocation")
    assert [options.get("priority") for options in sent] == [None, None, None, LOW_PRIORITY, None]
    assert all(options["queue"] == "allocation" for options in sent)
