"""Outbound webhooks: an event written with its cause, delivered to each subscribed endpoint, signed.

1. A receiver (receivers.py), inside the domain change's transaction, calls `webhook_event_emit`:
   when an active endpoint of the tenant subscribes to the type, it writes the WebhookEvent (its
   public id is the one every delivery and replay carries), one WebhookDelivery per endpoint,
   and one outbox row per delivery (`notifications.tasks.webhook_delivery_send_task`).
2. The task calls `webhook_delivery_send`, outside any transaction: it claims the delivery (a
   guarded update, so two runs cannot both post), builds the payload once (`payloads.py`),
   POSTs it signed (signing.py) with a connect/read timeout and no redirects, and records the
   attempt: status code, duration, error. 2xx: delivered. Anything else: `WebhookRetry` with a
   countdown of 30 s × 2^(attempt−1) up to MAX_BACKOFF_SECONDS, and after MAX_ATTEMPTS the
   delivery is dead. A delivery already delivered or dead sends nothing again.
3. Staff replay from the admin (`webhook_deliveries_replay`): a new delivery of the same event
   (same id, same payload) to the same endpoint, through the outbox again.

Only http(s) URLs; unless OMS_WEBHOOKS_ALLOW_PRIVATE_HOSTS, none naming localhost or a private,
loopback or link-local address literally (`endpoint_url_problem`).
"""

from __future__ import annotations

import ipaddress
import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from notifications.payloads import event_data
from notifications.preferences import tenant_wants
from notifications.signing import EVENT_HEADER, HEADER, signature_header
from notifications.states import DELIVERY_DONE, DeliveryState
from oms.core.audit import audit_record
from oms.core.tasks import enqueue_on_commit

MAX_ATTEMPTS = 6
FIRST_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600
CLAIM_LEASE = timedelta(minutes=2)
SEND_TASK = "notifications.tasks.webhook_delivery_send_task"
D = DeliveryState


class WebhookRetry(Exception):
    """Not delivered yet; try again after `countdown` seconds."""

    def __init__(self, message: str, *, countdown: int) -> None:
        super().__init__(message)
        self.countdown = countdown


def backoff_seconds(attempts: int) -> int:
    return int(min(FIRST_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def endpoint_url_problem(url: str) -> str | None:
    """Why this URL may not receive webhooks (a sentence for staff), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "Only http:// and https:// URLs can receive webhooks."
    host = (parts.hostname or "").lower()
    if not host:
        return "The URL has no host."
    if getattr(settings, "OMS_WEBHOOKS_ALLOW_PRIVATE_HOSTS", False):
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "The URL points at this machine; use an address the internet can reach."
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
        return "The URL points at a private address; use an address the internet can reach."
    return None


# --- writing, inside the cause's transaction -----------------------------------------------------
def webhook_event_emit(*, tenant_id: int, event_type: str, refs: dict[str, Any]) -> WebhookEvent | None:
    """The event and its deliveries, written in the current transaction; None when no endpoint listens."""
    if event_type not in tenant_wants(tenant_id).events:
        return None
    endpoints = [
        e for e in WebhookEndpoint.objects.for_tenant(tenant_id).filter(active=True) if e.receives(event_type)
    ]
    if not endpoints:
        return None
    event = WebhookEvent.objects.create(tenant_id=tenant_id, type=event_type, refs=refs)
    for endpoint in endpoints:
        _delivery_create(event=event, endpoint=endpoint)
    return event


def _delivery_create(
    *, event: WebhookEvent, endpoint: WebhookEndpoint, replay_of: Any = None
) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        tenant_id=event.tenant_id, event=event, endpoint=endpoint, replay_of=replay_of
    )
    enqueue_on_commit(SEND_TASK, tenant_id=event.tenant_id, delivery_id=delivery.pk)
    return delivery


@transaction.atomic
def webhook_deliveries_replay(*, tenant: Any, delivery_ids: list[int], actor: Any = None) -> int:
    """Send each delivery's event again (same id, same payload) to its endpoint. Returns how many."""
    rows = (
        WebhookDelivery.objects.for_tenant(tenant)
        .filter(pk__in=delivery_ids)
        .select_related("event", "endpoint", "tenant")
    )
    count = 0
    for old in rows:
        new = _delivery_create(event=old.event, endpoint=old.endpoint, replay_of=old)
        audit_record(
            tenant=old.tenant,
            actor=actor,
            action="webhook_delivery.replayed",
            obj=new,
            before={"delivery": old.pk, "state": old.state},
            after={"event": old.event.public_id},
        )
        count += 1
    return count


# --- sending, outside any transaction --------------------------------------------------------------
def event_body(event: WebhookEvent) -> bytes:
    """The payload, the same bytes for every delivery of the event (data built once, then kept)."""
    if event.data is None:
        data = event_data(tenant_id=event.tenant_id, event_type=event.type, refs=event.refs)
        WebhookEvent.objects.for_tenant(event.tenant_id).filter(pk=event.pk, data__isnull=True).update(
            data=data
        )
        event.refresh_from_db(fields=["data"])
    payload = {
        "id": event.public_id,
        "type": event.type,
        "created": event.created_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def _claim(delivery: WebhookDelivery) -> bool:
    now = timezone.now()
    return bool(
        WebhookDelivery.objects.for_tenant(delivery.tenant_id)
        .filter(pk=delivery.pk, state__in=[D.PENDING, D.RETRYING])
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE))
        .update(claimed_at=now, attempts=F("attempts") + 1, last_attempt_at=now)
    )


def _record(delivery: WebhookDelivery, *, state: str, code: int | None, error: str, duration_ms: int) -> None:
    WebhookDelivery.objects.for_tenant(delivery.tenant_id).filter(pk=delivery.pk).update(
        state=state,
        response_code=code,
        last_error=error[:500],
        duration_ms=duration_ms,
        claimed_at=None,
        delivered_at=timezone.now() if state == D.SUCCEEDED else None,
    )
    delivery.refresh_from_db()


def _post(endpoint: WebhookEndpoint, event: WebhookEvent, body: bytes) -> tuple[int | None, str]:
    """(status code or None, error text) of one POST."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "OMS-Webhooks/1",
        HEADER: signature_header(endpoint.secret, body),
        EVENT_HEADER: event.public_id,
        "OMS-Event-Type": event.type,
    }
    timeout = (settings.OMS_WEBHOOKS_CONNECT_TIMEOUT, settings.OMS_WEBHOOKS_READ_TIMEOUT)
    try:
        response = requests.post(
            endpoint.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"answered {response.status_code}: {response.text[:200]}"


def webhook_delivery_send(*, tenant_id: int, delivery_id: int) -> WebhookDelivery:
    """One attempt of a delivery. Raises WebhookRetry when it failed and attempts remain."""
    delivery = (
        WebhookDelivery.objects.for_tenant(tenant_id).select_related("event", "endpoint").get(pk=delivery_id)
    )
    if delivery.state in DELIVERY_DONE:
        return delivery
    if not _claim(delivery):
        delivery.refresh_from_db()
        if delivery.state in DELIVERY_DONE:
            return delivery
        raise WebhookRetry(f"delivery {delivery.pk} is being sent by another run", countdown=60)
    delivery.refresh_from_db()
    endpoint = delivery.endpoint
    problem = endpoint_url_problem(endpoint.url) or ("" if endpoint.active else "The endpoint is disabled.")
    if problem:
        _record(delivery, state=D.DEAD, code=None, error=problem, duration_ms=0)
        return delivery
    started = time.monotonic()
    code, error = _post(endpoint, delivery.event, event_body(delivery.event))
    duration_ms = int((time.monotonic() - started) * 1000)
    if not error:
        _record(delivery, state=D.SUCCEEDED, code=code, error="", duration_ms=duration_ms)
        return delivery
    if delivery.attempts >= MAX_ATTEMPTS:
        _record(
            delivery,
            state=D.DEAD,
            code=code,
            error=f"gave up after {delivery.attempts} attempts: {error}",
            duration_ms=duration_ms,
        )
        return delivery
    _record(delivery, state=D.RETRYING, code=code, error=error, duration_ms=duration_ms)
    raise WebhookRetry(error, countdown=backoff_seconds(delivery.attempts))
