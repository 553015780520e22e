"""Celery entry points of the fulfillment room: ids in, one service call."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from fulfillment.carriers import CarrierUnavailable
from fulfillment.notifications import NotificationRetry, shipment_email_send, shipment_tracking_push
from fulfillment.tracking import shipment_tracking_register, tracking_poll_quiet


# --- tracking and notifications --------------------------------------------------------------
@shared_task(acks_late=True, autoretry_for=(NotificationRetry,), retry_backoff=True, max_retries=6)
def shipment_email_send_task(*, tenant_id: int, shipment_id: int, kind: str) -> None:
    """Outbox (effects): the customer's shipped or delivered email of one shipment, once."""
    shipment_email_send(tenant_id=tenant_id, shipment_id=shipment_id, kind=kind)


@shared_task(acks_late=True, autoretry_for=(NotificationRetry,), retry_backoff=True, max_retries=6)
def shipment_tracking_push_task(*, tenant_id: int, shipment_id: int) -> None:
    """Outbox (effects.shipment_shipped): the tracking pushed to the order's channel, once."""
    shipment_tracking_push(tenant_id=tenant_id, shipment_id=shipment_id)


@shared_task(acks_late=True, autoretry_for=(CarrierUnavailable,), retry_backoff=True, max_retries=6)
def shipment_tracking_register_task(*, tenant_id: int, shipment_id: int) -> None:
    """Outbox (effects.shipment_shipped): the carrier platform follows a 3PL's tracking number."""
    shipment_tracking_register(tenant_id=tenant_id, shipment_id=shipment_id)


@shared_task(acks_late=True)
def tracking_poll_quiet_task() -> dict[str, Any]:
    """Beat: ask the carrier about shipments whose tracking has gone quiet, tenant by tenant."""
    return tracking_poll_quiet().as_dict()
