"""Thin Celery entry points into inventory services."""

from __future__ import annotations

from celery import shared_task

from inventory.services import reservations_expire


@shared_task(acks_late=True)
def reservations_expire_task() -> int:
    """Periodic sweep (every minute, see CELERY_BEAT_SCHEDULE): release expired checkout holds."""
    return reservations_expire()
