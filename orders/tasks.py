"""Thin Celery entry points into order services: ids and tenant_id in, one service call."""

from orders.payment_tasks import *  # noqa: F403  (payment tasks live beside the payment services)
