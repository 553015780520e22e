"""Celery entry points of the fulfillment room: ids in, one service call."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from fulfillment import labels, services
from fulfillment.carriers import CarrierUnavailable
from fulfillment.notifications import NotificationRetry, shipment_email_send, shipment_tracking_push
from fulfillment.tracking import shipment_tracking_register, tracking_poll_quiet
from oms.models import Tenant


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


def _tenant(tenant_id: int) -> Tenant:
    return Tenant.objects.get(pk=tenant_id)


# --- labels ---------------------------------------------------------------------------------------
# The carrier unreachable: try again after 2, 4, 8, 16, 32 s (six attempts in about a minute),
# then the label is failed and staff see why. The longest countdown stays far below the broker's
# visibility timeout (settings.CELERY_BROKER_VISIBILITY_TIMEOUT).
LABEL_MAX_RETRIES = 5
LABEL_BACKOFF_SECONDS = 2


def label_retry_countdown(retries: int) -> int:
    """Seconds before attempt `retries + 2` (exponential backoff)."""
    return int(LABEL_BACKOFF_SECONDS * 2**retries)


def _retry_or_give_up(task: Any, exc: CarrierUnavailable) -> None:
    if task.request.retries >= task.max_retries:
        return None  # the service recorded the last attempt's failure
    raise task.retry(exc=exc, countdown=label_retry_countdown(task.request.retries))


@shared_task(bind=True, acks_late=True, max_retries=LABEL_MAX_RETRIES)
def label_purchase_task(self: Any, *, tenant_id: int, label_id: int) -> int | None:
    final = self.request.retries >= self.max_retries
    try:
        return labels.label_purchase(tenant=_tenant(tenant_id), label_id=label_id, final_attempt=final).pk
    except CarrierUnavailable as exc:
        return _retry_or_give_up(self, exc)


@shared_task(bind=True, acks_late=True, max_retries=LABEL_MAX_RETRIES)
def label_void_task(self: Any, *, tenant_id: int, label_id: int) -> int | None:
    try:
        return labels.label_void(tenant=_tenant(tenant_id), label_id=label_id).pk
    except CarrierUnavailable as exc:
        return _retry_or_give_up(self, exc)


@shared_task(bind=True, acks_late=True, max_retries=LABEL_MAX_RETRIES)
def label_tracking_register_task(self: Any, *, tenant_id: int, label_id: int) -> None:
    try:
        labels.label_tracking_register(tenant=_tenant(tenant_id), label_id=label_id)
    except CarrierUnavailable as exc:
        _retry_or_give_up(self, exc)


# --- release and pick lists -----------------------------------------------------------------------
@shared_task(acks_late=True)
def order_release_to_warehouse_task(*, tenant_id: int, order_id: int) -> list[int]:
    """Outbox (orders' order_allocated, auto_release on): the order's new allocations become shipments."""
    made = services.order_release_auto(tenant=_tenant(tenant_id), order_id=order_id)
    return [shipment.pk for shipment in made]


@shared_task(acks_late=True)
def pick_lists_auto_create_task() -> int:
    """Beat: pending shipments batched into pick lists, for tenants with auto_pick_lists."""
    return services.pick_lists_auto_create()
