"""/health with a real worker on the embedded broker (no remote control): live, then killed.

Before, /health answered "ok" while the worker was dead. The worker's heartbeat row makes it
answer 200 while the worker consumes and 503, with the reason, soon after a SIGKILL.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.e2e.worker import running_worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STALE_SECONDS = 3


def test_health_follows_a_real_worker_from_live_to_killed(tmp_path, client, settings, figures):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.HEALTH_WORKER_STALE_SECONDS = STALE_SECONDS
    settings.HEALTH_QUEUE_MAX_AGE_SECONDS = 10**9  # only the workers are under test here
    log = tmp_path / "worker.log"

    def health(status):
        response = client.get("/health")
        return response.json() if response.status_code == status else None

    assert health(503) is not None, "no worker yet"
    with running_worker("filesystem://", tmp_path, extra_env={"WORKER_HEARTBEAT_SECONDS": "0.5"}) as worker:
        body = wait_for(lambda: health(200), timeout=60, process=worker, log=log)
        (live,) = body["workers"]["alive"]
        assert live["name"].startswith("e2e-") and set(live["queues"]) == set(settings.CELERY_QUEUES_ALL)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = time.monotonic()
        body = wait_for(lambda: health(503), timeout=STALE_SECONDS + 10)
        noticed_after = time.monotonic() - killed_at
    assert body["reasons"] == [f"no worker has reported in the last {STALE_SECONDS} s"]
    assert [w["name"] for w in body["workers"]["gone"]] == [live["name"]]
    figures(f"health 503 {noticed_after:.1f}s after SIGKILL (stale after {STALE_SECONDS}s)")


def test_a_worker_stopped_cleanly_removes_its_heartbeat(tmp_path, client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.HEALTH_QUEUE_MAX_AGE_SECONDS = 10**9
    log = tmp_path / "worker.log"
    with running_worker("filesystem://", tmp_path) as worker:
        wait_for(lambda: client.get("/health").status_code == 200, timeout=60, process=worker, log=log)
    body = client.get("/health").json()
    assert body["workers"]["alive"] == [] and body["workers"]["gone"] == []
