"""Enqueueing work so that it is never lost and a worker only ever sees committed rows."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from oms.core.outbox import outbox_kick, outbox_kick_leased, outbox_kick_leases, outbox_write


def enqueue_on_commit(task: Any, /, **kwargs: Any) -> None:
    """Have `task` (a task, or its dotted name) run with `kwargs` once the current transaction commits.

    The task is written as an outbox row in the caller's transaction (oms/core/outbox.py): it
    commits or rolls back with the change, and a broker outage only delays it. On commit the row
    is relayed at once (outside a transaction: now); the periodic relay sends what that misses.
    Naming the task ("orders.tasks.order_allocate_task") lets a service enqueue work without
    importing the module that defines it, so services and tasks import one way.
    """
    tenant_id = kwargs.get("tenant_id")
    tenant_id = tenant_id if isinstance(tenant_id, int) else None
    if outbox_kick_leases():  # the relay thread publishes it without claiming it first
        leased = outbox_write(task, kwargs, tenant_id=tenant_id, leased=True)
        transaction.on_commit(lambda: outbox_kick_leased([leased]))
        return
    message = outbox_write(task, kwargs, tenant_id=tenant_id)
    transaction.on_commit(lambda: outbox_kick([message.pk]))
