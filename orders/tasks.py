"""Thin Celery entry points into order services: ids and tenant_id in, one service call."""

from __future__ import annotations

from celery import shared_task

from oms.models import Tenant
from orders import services
from orders.payment_tasks import *  # noqa: F403  (payment tasks live beside the payment services)


@shared_task(acks_late=True)
def order_allocate_task(*, tenant_id: int, order_id: int) -> None:
    services.order_allocate(tenant=Tenant.objects.get(pk=tenant_id), order_id=order_id, actor="task")


@shared_task(acks_late=True)
def orders_allocate_backorders_task(*, tenant_id: int, sku_ids: list[int]) -> None:
    services.orders_allocate_backorders(tenant=Tenant.objects.get(pk=tenant_id), sku_ids=sku_ids)


@shared_task(acks_late=True)
def orders_backorders_sweep_task() -> int:
    """Periodic safety net (CELERY_BEAT_SCHEDULE): backorders with free stock get it, every tenant."""
    return services.orders_backorders_sweep()
