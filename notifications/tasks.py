"""Thin Celery wrappers: ids in, one service call. Retries with backoff; the services bound them."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from notifications.emails import EmailRetry, email_send
from notifications.webhooks import MAX_ATTEMPTS, WebhookRetry, webhook_delivery_send


@shared_task(bind=True, acks_late=True, max_retries=MAX_ATTEMPTS + 2)
def webhook_delivery_send_task(self: Any, *, tenant_id: int, delivery_id: int) -> None:
    try:
        webhook_delivery_send(tenant_id=tenant_id, delivery_id=delivery_id)
    except WebhookRetry as exc:
        raise self.retry(exc=exc, countdown=exc.countdown) from exc


@shared_task(acks_late=True, autoretry_for=(EmailRetry,), retry_backoff=True, max_retries=6)
def email_send_task(*, tenant_id: int, email_id: int) -> None:
    email_send(tenant_id=tenant_id, email_id=email_id)
