"""Worker heartbeats: each consuming Celery worker refreshes a row that /health reads.

A consumer bootstep (registered in oms/celery.py) writes the row when the worker starts
consuming and every WORKER_HEARTBEAT_SECONDS after that, from the worker's own timer: a worker
whose main process died, hangs, or lost the broker stops refreshing it. A clean shutdown
removes the row. Rows work with every broker; the embedded filesystem broker has no remote
control to ping workers with.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import bootsteps
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from oms.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

FORGET_AFTER = timedelta(days=1)  # a row this old (a killed worker's) is deleted


def worker_heartbeat_record(*, name: str, queues: list[str]) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        name=name,
        defaults={"queues": sorted(queues), "seen_at": now},
        create_defaults={"queues": sorted(queues), "seen_at": now, "started_at": now},
    )


def worker_heartbeat_remove(*, name: str) -> None:
    WorkerHeartbeat.objects.filter(name=name).delete()


def worker_heartbeats_forget_old() -> int:
    return WorkerHeartbeat.objects.filter(seen_at__lt=timezone.now() - FORGET_AFTER).delete()[0]


@dataclass(frozen=True)
class SeenWorker:
    name: str
    queues: list[str]
    seen_at: datetime
    age_seconds: float


def workers_seen() -> list[SeenWorker]:
    """Every worker with a row, newest first, with how long ago it refreshed it."""
    now = timezone.now()
    return [
        SeenWorker(row.name, list(row.queues), row.seen_at, max(0.0, (now - row.seen_at).total_seconds()))
        for row in WorkerHeartbeat.objects.order_by("-seen_at")
    ]


def _beat(name: str, queues: list[str]) -> None:
    # Runs on the worker's timer: it must never raise into the event loop.
    try:
        close_old_connections()  # a connection broken by a database restart is replaced
        worker_heartbeat_record(name=name, queues=queues)
    except DatabaseError:
        logger.warning("worker heartbeat: database unreachable", exc_info=True)


class Heartbeat(bootsteps.StartStopStep):
    """Consumer step: starts with consuming, stops when the broker connection is lost."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        self.tref: Any = None
        self.name = ""
        super().__init__(c, **kwargs)

    def start(self, c: Any) -> None:
        self.name = f"{c.hostname}:{os.getpid()}"
        queues = sorted(queue.name for queue in c.task_consumer.queues)
        _beat(self.name, queues)
        self.tref = c.timer.call_repeatedly(settings.WORKER_HEARTBEAT_SECONDS, _beat, (self.name, queues))
        try:
            worker_heartbeats_forget_old()
        except DatabaseError:
            logger.warning("worker heartbeat: could not forget old rows", exc_info=True)

    def stop(self, c: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def shutdown(self, c: Any) -> None:
        self.stop(c)
        if self.name:
            try:
                worker_heartbeat_remove(name=self.name)
            except DatabaseError:
                logger.warning("worker heartbeat: could not remove the row", exc_info=True)
