"""The Celery app. Tasks take ids and a tenant_id, and call one service."""

from __future__ import annotations

import os
import time

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_init

from oms.core.broker import use_for_redis_urls
from oms.core.filesystem_broker import use_for_filesystem_urls

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings.dev")
# kombu's Redis transport loses messages and exits the worker when Redis drops: ours does not.
use_for_redis_urls()
use_for_filesystem_urls()

SENT_AT_HEADER = "oms_sent_at"

# Every task runs on OutboxTask: a second delivery of an outbox row is recognised and skipped.
app = Celery("oms", task_cls="oms.core.outbox:OutboxTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each consuming worker refreshes a heartbeat row that /health reads (named: loaded once Django is).
app.steps["consumer"].add("oms.workers:Heartbeat")


@worker_init.connect
def _warm_up(**_: object) -> None:
    """Load, once in the worker's main process, what each pool process would load on its first task.

    The ZIP table behind "nearest warehouse" takes 0.5-1 s to load; a pool process paid that in its
    first allocation, holding the allocation's locks (on SQLite the one write lock) meanwhile.
    Loaded before the pool forks, every pool process starts with it.
    """
    from inventory.geo import us_zip_coordinates

    us_zip_coordinates("10001")


@before_task_publish.connect
def _stamp_sent_at(headers: dict[str, object] | None = None, **_: object) -> None:
    """When the message was first sent: /health reports the age of the oldest queued one."""
    if headers is not None:
        headers.setdefault(SENT_AT_HEADER, time.time())


@before_task_publish.connect
def _carry_request_id(headers: dict[str, object] | None = None, **_: object) -> None:
    from oms.core.request_id import get_request_id

    if headers is not None and "request_id" not in headers:
        headers["request_id"] = get_request_id()


@task_prerun.connect
def _restore_request_id(task: object = None, **_: object) -> None:
    from oms.core.request_id import set_request_id, task_request_id

    request = getattr(task, "request", None)
    rid = task_request_id(request) if request is not None else None
    set_request_id(rid or f"task-{getattr(request, 'id', '') or ''}")


@task_postrun.connect
def _clear_request_id(**_: object) -> None:
    from oms.core.request_id import set_request_id

    set_request_id("-")
