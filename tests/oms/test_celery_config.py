"""Celery is configured as production needs it: JSON only, late acks, tasks routed to their queues."""

from __future__ import annotations

import pytest

from oms.celery import app


def test_json_only_late_acks_and_reject_on_worker_loss():
    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("integrations.tasks.inbound_event_process_task", "ingest"),
        ("inventory.tasks.reservations_expire_task", "allocation"),
        ("orders.tasks.order_allocate_task", "allocation"),
        ("orders.tasks.orders_allocate_backorders_task", "allocation"),
        ("fulfillment.tasks.shipment_label_create_task", "labels"),
        ("integrations.shopify.tasks.sync_orders", "ingest"),
        ("fulfillment.tasks.tracking_push_to_channel_task", "sync"),
        ("oms.tasks.worker_ping_task", "default"),
    ],
)
def test_tasks_are_routed_to_their_queue(task, queue):
    route = app.amqp.router.route({}, task)
    assert route["queue"].name == queue


ROOMS = {"oms", "orders", "inventory", "integrations"}


def test_every_task_of_ours_acks_late():
    app.loader.import_default_modules()
    ours = [name for name in app.tasks if name.split(".")[0] in ROOMS]
    assert "orders.tasks.order_allocate_task" in ours
    assert all(app.tasks[name].acks_late for name in ours), [n for n in ours if not app.tasks[n].acks_late]
