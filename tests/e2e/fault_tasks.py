"""Tasks only the fault tests load into their worker (`celery worker --include tests.e2e.fault_tasks`)."""

from __future__ import annotations

import time

from celery import shared_task

from oms.core.audit import audit_record
from oms.models import Tenant

DONE = "fault.done"


@shared_task(acks_late=True)
def fault_sleep_task(*, tenant_id: int, token: str, seconds: float) -> str:
    """Holds the worker for `seconds`, then records that `token` ran to the end."""
    time.sleep(seconds)
    tenant = Tenant.objects.get(pk=tenant_id)
    audit_record(tenant=tenant, actor="task", action=DONE, object_type="fault", object_id=token)
    return token


# `running_worker(..., extra_args=FAULT_TASKS)` loads this module into the worker.
FAULT_TASKS = ("--include", __name__)
