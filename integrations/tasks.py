"""Celery entry points of the integrations room."""

from __future__ import annotations

from celery import shared_task

from integrations.inbox import InboundEventRetry, inbound_event_process
from integrations.ingest import channel_cancellation_push
from integrations.polling import channel_poll, channel_polls_due
from integrations.publishing import channel_stock_publish, channel_stock_publish_all
from orders.channels import ChannelUnavailable


@shared_task(acks_late=True, autoretry_for=(InboundEventRetry,), retry_backoff=True, max_retries=6)
def inbound_event_process_task(*, tenant_id: int, event_id: int) -> None:
    """Process one stored InboundEvent (`event_id` is the InboundEvent row's id)."""
    inbound_event_process(tenant_id=tenant_id, event_id=event_id)


@shared_task(acks_late=True)
def channel_stock_publish_all_task() -> dict[str, int]:
    """Beat (every STOCK_PUBLISH_SECONDS): each active account gets the stock changes since the last."""
    return channel_stock_publish_all()


@shared_task(acks_late=True, autoretry_for=(ChannelUnavailable,), retry_backoff=True, max_retries=5)
def channel_stock_publish_task(*, tenant_id: int, account_id: int) -> dict[str, object]:
    """One account's stock changes, now (the admin's "publish stock now"); retried while it is down."""
    return channel_stock_publish(tenant=tenant_id, account_id=account_id).as_dict()


@shared_task(acks_late=True, autoretry_for=(ChannelUnavailable,), retry_backoff=True, max_retries=6)
def channel_cancellation_push_task(*, tenant_id: int, order_id: int) -> str:
    """Outbox (the oversell rule "cancel"): the order's channel is told we cancelled it."""
    return channel_cancellation_push(tenant=tenant_id, order_id=order_id)


@shared_task(acks_late=True)
def channel_polls_due_task() -> int:
    """Beat (every POLL_SWEEP_SECONDS): a poll queued for each polled account whose interval passed."""
    return channel_polls_due()


@shared_task(acks_late=True)
def channel_poll_task(*, tenant_id: int, account_id: int) -> dict[str, object]:
    """One poll of one account (beat or "sync now"). Errors stay on the account; the next poll retries."""
    return channel_poll(tenant=tenant_id, account_id=account_id).as_dict()
