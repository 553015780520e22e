"""Enqueueing work so that a worker only ever sees committed rows."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.db import transaction


def task_by_name(name: str) -> Any:
    """The registered task called `name` ("orders.tasks.order_allocate_task"), importing its module."""
    module, _, attr = name.rpartition(".")
    return getattr(import_module(module), attr)


def _send(task: Any, kwargs: dict[str, Any]) -> None:
    if isinstance(task, str):
        task = task_by_name(task)
    task.apply_async(kwargs=kwargs)


def enqueue_on_commit(task: Any, /, **kwargs: Any) -> None:
    """Send `task` (a task, or its dotted name) once the current transaction commits (now, outside one).

    Naming the task ("orders.tasks.order_allocate_task") lets a service enqueue work without
    importing the module that defines it, so services and tasks import one way.
    """
    transaction.on_commit(lambda: _send(task, kwargs))
