"""The Redis broker drops (SIGKILL) while a real worker holds messages, several times, under load.

The worker must reconnect once Redis is back and every task must run to the end: nothing is
lost, nothing waits for the visibility timeout, and the worker is still alive afterwards (not
exited with an unrecoverable error). Short tasks on four processes keep the worker taking and
acknowledging messages at the moment Redis goes, which is when kombu 5.7.0 on its own loses
messages or dies (oms/core/broker.py).
"""

from __future__ import annotations

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

TASKS = 200
DROPS = 4
TASK_SECONDS = 0.02
DOWN_SECONDS = 1.5


def _done(tenant) -> set[str]:
    rows = AuditEvent.objects.for_tenant(tenant).filter(action=DONE)
    return set(rows.values_list("object_id", flat=True))


def test_worker_survives_broker_drops_under_load_and_loses_nothing(tmp_path, tenant_a, figures):
    server = RedisServer(tmp_path / "redis")
    server.start()
    broker = server.url(1)
    tokens = [uuid.uuid4().hex for _ in range(TASKS)]
    log = tmp_path / "worker.log"
    try:
        app = producer(broker, tmp_path)
        with running_worker(broker, tmp_path, concurrency=4, extra_args=FAULT_TASKS) as worker:
            for token in tokens:
                app.send_task(
                    "tests.e2e.fault_tasks.fault_sleep_task",
                    kwargs={"tenant_id": tenant_a.pk, "token": token, "seconds": TASK_SECONDS},
                    queue="default",
                )
            app.close()
            held, queued = [], []
            for _ in range(DROPS):
                # Drop only once the worker consumes again (new tasks done) and holds messages.
                done_before = len(_done(tenant_a))
                wait_for(
                    lambda n=done_before: len(_done(tenant_a)) >= n + 4 and server.client(1).hlen("unacked"),
                    timeout=30,
                    process=worker,
                    log=log,
                )
                held.append(server.client(1).hlen("unacked"))
                queued.append(server.client(1).llen("default"))
                server.kill()
                time.sleep(DOWN_SECONDS)
                assert worker.poll() is None, f"worker exited, Redis down:\n{log.read_text()[-4000:]}"
                server.start()
            # Well under the visibility timeout (600 s): nothing may wait for it.
            wait_for(lambda: len(_done(tenant_a)) == TASKS, timeout=40, process=worker, log=log)
            alive = worker.poll() is None
        lost = set(tokens) - _done(tenant_a)
        figures(f"drops={DROPS} tasks={TASKS} held={held} queued={queued} lost={len(lost)} alive={alive}")
        assert all(queued), "every drop happens under load"
        assert not lost
        assert alive, log.read_text()[-4000:]
        assert "Unrecoverable error" not in log.read_text()
    finally:
        server.stop()
