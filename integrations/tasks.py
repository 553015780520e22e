"""Celery entry points of the integrations room."""

from __future__ import annotations

from celery import shared_task

from integrations.inbox import InboundEventRetry, inbound_event_process


@shared_task(acks_late=True, autoretry_for=(InboundEventRetry,), retry_backoff=True, max_retries=6)
def inbound_event_process_task(*, tenant_id: int, event_id: int) -> None:
    """Process one stored InboundEvent (`event_id` is the InboundEvent row's id)."""
    inbound_event_process(tenant_id=tenant_id, event_id=event_id)
