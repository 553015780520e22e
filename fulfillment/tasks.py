"""Thin Celery entry points into fulfillment services: ids and tenant_id in, one service call.
Every service here is idempotent: a second delivery of a message changes nothing."""

from __future__ import annotations

from celery import shared_task

from fulfillment import services
from oms.models import Tenant


def _tenant(tenant_id: int) -> Tenant:
    return Tenant.objects.get(pk=tenant_id)


# --- release and pick lists -----------------------------------------------------------------------
@shared_task(acks_late=True)
def order_release_to_warehouse_task(*, tenant_id: int, order_id: int) -> list[int]:
    """The automatic release (outbox, written when the order got allocations): shipments made."""
    made = services.order_release_auto(tenant=_tenant(tenant_id), order_id=order_id)
    return [shipment.pk for shipment in made]
