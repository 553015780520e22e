"""Celery tasks for payments (filled in with the payment services)."""
