"""SIGKILL of a worker's main process while it holds tasks: another worker runs them, soon.

The killed worker's pool processes die with it, so the messages it held stay in Redis's
"unacked" set until the visibility timeout (kombu's default: an hour; ours: settings
CELERY_BROKER_VISIBILITY_TIMEOUT, 4 s here to stay fast). A new worker must put them back on
their queues and run every task within a bounded time: nothing stuck, nothing lost.
"""

from __future__ import annotations

import signal
import time
import uuid

import pytest

from oms.models import AuditEvent
from tests.e2e.fault_tasks import DONE, FAULT_TASKS
from tests.e2e.redis_server import RedisServer, needs_redis_server
from tests.e2e.worker import producer, running_worker, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    needs_redis_server,
]

TASKS = 16
TASK_SECONDS = 1.0
VISIBILITY_TIMEOUT = "4"


def _done(tenant) -> set[str]:
    rows = AuditEvent.objects.for_tenant(tenant).filter(action=DONE)
    return set(rows.values_list("object_id", flat=True))


def test_tasks_held_by_a_killed_worker_run_on_the_next_worker(tmp_path, tenant_a, figures):
    server = RedisServer(tmp_path / "redis")
    server.start()
    broker = server.url(1)
    redis = server.client(1)
    tokens = [uuid.uuid4().hex for _ in range(TASKS)]
    env = {"CELERY_BROKER_VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT}
    try:
        app = producer(broker, tmp_path)
        for token in tokens:
            app.send_task(
                "tests.e2e.fault_tasks.fault_sleep_task",
                kwargs={"tenant_id": tenant_a.pk, "token": token, "seconds": TASK_SECONDS},
                queue="default",
            )
        app.close()
        first_log = tmp_path / "worker-1.log"
        with running_worker(
            broker,
            tmp_path,
            concurrency=2,
            extra_args=FAULT_TASKS,
            extra_env=env,
            log_name=first_log.name,
        ) as worker:
            # Mid-task: some tasks done, two running (held, not acknowledged).
            wait_for(
                lambda: len(_done(tenant_a)) >= 2 and redis.hlen("unacked") >= 2,
                timeout=30,
                process=worker,
                log=first_log,
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            killed_at = time.monotonic()
        held = redis.hlen("unacked")
        done_at_kill = len(_done(tenant_a))
        assert held >= 1, "the killed worker held messages"

        second_log = tmp_path / "worker-2.log"
        with running_worker(
            broker,
            tmp_path,
            concurrency=2,
            extra_args=FAULT_TASKS,
            extra_env=env,
            log_name=second_log.name,
        ) as worker:
            wait_for(lambda: len(_done(tenant_a)) == TASKS, timeout=45, process=worker, log=second_log)
            recovered_in = time.monotonic() - killed_at
        stuck = redis.hlen("unacked") + redis.llen("default")
        lost = set(tokens) - _done(tenant_a)
        figures(
            f"tasks={TASKS} held_when_killed={held} done_when_killed={done_at_kill} "
            f"completed={TASKS - len(lost)} stuck={stuck} all_done_after={recovered_in:.1f}s"
        )
        assert not lost and stuck == 0
    finally:
        server.stop()
