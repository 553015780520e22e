"""Enqueueing work so that a worker only ever sees committed rows."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue_on_commit(task: Any, /, **kwargs: Any) -> None:
    """Send `task` with keyword arguments once the current transaction commits (now, outside one)."""
    transaction.on_commit(lambda: task.apply_async(kwargs=kwargs))
