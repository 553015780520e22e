"""Outbound webhooks end to end: a real receiver on 127.0.0.1, the outbox, the task's retries."""

from __future__ import annotations

import json

from notifications.models import WebhookDelivery, WebhookEvent
from notifications.states import DeliveryState
from notifications.webhooks import MAX_ATTEMPTS, webhook_deliveries_replay
from oms.models import OutboxMessage
from orders.services import order_cancel, order_create
from tests.notifications.conftest import order_input


def _place(tenant, django_capture_on_commit_callbacks, external_id="W-1001"):
    with django_capture_on_commit_callbacks(execute=True):
        order, _ = order_create(tenant=tenant, data=order_input(external_id))
    return order


def test_fails_twice_then_succeeds_one_delivery_recorded(
    tenant_a, stocked, endpoint_a, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = [500, 500]
    order = _place(tenant_a, django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.for_tenant(tenant_a).get()
    assert delivery.state == DeliveryState.SUCCEEDED
    assert delivery.attempts == 3
    assert delivery.response_code == 200
    assert delivery.last_error == ""
    assert delivery.duration_ms is not None
    assert len(receiver.requests) == 3
    assert all(r["verified"] for r in receiver.requests)
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1  # every attempt carries the same event
    payload = json.loads(bodies.pop())
    assert payload["type"] == "order.created"
    assert payload["id"] == delivery.event.public_id
    assert payload["id"].startswith("evt_")
    assert payload["data"]["order"]["number"] == order.number
    assert "tenant" not in json.dumps(payload)
    headers = receiver.requests[0]["headers"]
    assert headers["OMS-Event-Id"] == payload["id"]
    assert headers["Content-Type"] == "application/json"
    # it went through the outbox: one row for the delivery task, done
    row = OutboxMessage.objects.get(task="notifications.tasks.webhook_delivery_send_task")
    assert row.kwargs == {"tenant_id": tenant_a.pk, "delivery_id": delivery.pk}
    assert row.done_at is not None


def test_a_receiver_with_the_wrong_secret_detects_the_bad_signature(
    tenant_a, stocked, endpoint_a, receiver, django_capture_on_commit_callbacks
):
    receiver.secret = "whsec_not-the-endpoint-secret-000000"
    _place(tenant_a, django_capture_on_commit_callbacks)
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["verified"] is False


def test_a_receiver_that_always_fails_gets_bounded_attempts_then_dead(
    tenant_a, stocked, endpoint_a, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = [503] * (MAX_ATTEMPTS + 5)
    _place(tenant_a, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.for_tenant(tenant_a).get()
    assert delivery.state == DeliveryState.DEAD
    assert delivery.attempts == MAX_ATTEMPTS
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert delivery.response_code == 503
    assert "gave up after" in delivery.last_error


def test_replay_resends_the_same_event_id(
    tenant_a, stocked, endpoint_a, receiver, django_capture_on_commit_callbacks
):
    _place(tenant_a, django_capture_on_commit_callbacks)
    first = WebhookDelivery.objects.for_tenant(tenant_a).get()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_deliveries_replay(tenant=tenant_a, delivery_ids=[first.pk]) == 1
    assert len(receiver.requests) == 2
    ids = [json.loads(r["body"])["id"] for r in receiver.requests]
    assert ids[0] == ids[1] == first.event.public_id
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    again = WebhookDelivery.objects.for_tenant(tenant_a).exclude(pk=first.pk).get()
    assert again.replay_of_id == first.pk
    assert again.state == DeliveryState.SUCCEEDED


def test_a_redelivered_task_sends_nothing_more(
    tenant_a, stocked, endpoint_a, receiver, django_capture_on_commit_callbacks
):
    from notifications.tasks import webhook_delivery_send_task

    _place(tenant_a, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.for_tenant(tenant_a).get()
    webhook_delivery_send_task(tenant_id=tenant_a.pk, delivery_id=delivery.pk)
    assert len(receiver.requests) == 1


def test_only_subscribed_events_and_only_after_commit(
    tenant_a, stocked, endpoint_a, receiver, django_capture_on_commit_callbacks
):
    endpoint_a.events = ["order.cancelled"]
    endpoint_a.save()
    order = _place(tenant_a, django_capture_on_commit_callbacks)
    assert receiver.requests == []
    assert not WebhookEvent.objects.for_tenant(tenant_a).exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_cancel(tenant=tenant_a, order_id=order.pk, reason="customer asked")
    assert receiver.requests == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == ["order.cancelled"]
    assert json.loads(receiver.requests[0]["body"])["data"]["order"]["state"] == "cancelled"
