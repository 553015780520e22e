"""Fair queues: a tenant with its share of tasks waiting publishes at low priority; others do not."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery.app.task import Task
from django.core.cache import cache

from oms.celery import app
from oms.core.fairness import (
    FAIR_HEADER,
    LOW_PRIORITY,
    fair_publish_options,
    fair_task_finished,
    tenant_queued,
)
from orders.tasks import order_allocate_task


@pytest.fixture(autouse=True)
def _publishing(settings, monkeypatch):
    """As in production: tasks published to a broker (not run eagerly), a share of 3 waiting tasks."""
    cache.clear()
    settings.TASK_FAIRNESS = True
    settings.TASK_QUEUED_PER_TENANT = 3
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    yield
    cache.clear()


def _publish(tenant_id, count=1):
    return [fair_publish_options(app, {"tenant_id": tenant_id}, {}) for _ in range(count)]


def _priorities(tenant_id, count):
    return [options.get("priority") for options in _publish(tenant_id, count)]


def _finish(options):
    fair_task_finished(SimpleNamespace(headers=options.get("headers")))


def test_past_its_share_a_tenants_tasks_go_at_low_priority_and_another_tenants_do_not():
    assert _priorities(1, 5) == [None, None, None, LOW_PRIORITY, LOW_PRIORITY]
    assert _priorities(2, 3) == [None, None, None]
    assert tenant_queued(1) == 3


def test_a_finished_task_frees_a_place_at_normal_priority():
    first, *_ = _publish(1, 3)
    assert first["headers"] == {FAIR_HEADER: 1}
    assert _priorities(1, 1) == [LOW_PRIORITY]
    _finish(first)
    assert _priorities(1, 2) == [None, LOW_PRIORITY]


def test_a_low_priority_task_finishing_frees_nothing():
    _publish(1, 3)
    (low,) = _publish(1)
    assert "headers" not in low
    _finish(low)
    assert tenant_queued(1) == 3


def test_tasks_without_a_tenant_and_explicit_priorities_are_left_alone():
    _priorities(1, 10)
    assert fair_publish_options(app, {"order_id": 5}, {}) == {}
    assert fair_publish_options(app, None, {"queue": "default"}) == {"queue": "default"}
    assert fair_publish_options(app, {"tenant_id": 1}, {"priority": 0}) == {"priority": 0}
    # A retry keeps its delivery's priority and is not counted a second time.
    retry = {"priority": 0, "headers": {FAIR_HEADER: 1, "outbox_id": 4}}
    assert fair_publish_options(app, {"tenant_id": 1}, retry) == {"priority": 0, "headers": {"outbox_id": 4}}


def test_turned_off_every_task_keeps_the_normal_priority(settings):
    settings.TASK_FAIRNESS = False
    assert _priorities(1, 6) == [None] * 6


def test_a_cache_that_fails_publishes_as_usual(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", broken)
    assert _priorities(1, 5) == [None] * 5


def test_the_task_base_publishes_with_the_fair_priority_and_counts_off_when_a_task_returns(monkeypatch):
    sent = []

    def publish(self, args=None, kwargs=None, **options):
        sent.append(options)

    monkeypatch.setattr(Task, "apply_async", publish)
    for _ in range(4):
        order_allocate_task.apply_async(kwargs={"tenant_id": 7, "order_id": 1}, queue="allocation")
    order_allocate_task.apply_async(kwargs={"tenant_id": 8, "order_id": 2}, queue="allocation")
    assert [options.get("priority") for options in sent] == [None, None, None, LOW_PRIORITY, None]
    assert all(options["queue"] == "allocation" for options in sent)

    order_allocate_task.push_request(headers=sent[0]["headers"])
    try:
        order_allocate_task.after_return("SUCCESS", None, "id", (), {}, None)
    finally:
        order_allocate_task.pop_request()
    assert tenant_queued(7) == 2
