"""Celery is configured as production needs it, checked against the tasks that exist.

Every check walks the registered tasks of the project's own apps, so a new task is checked
the day it is written: JSON only, late acks, a queue that every documented worker layout
consumes, and a longest hold under the broker's visibility timeout. A route must name tasks
that exist.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from kombu import Connection

from oms.celery import app
from oms.core import broker

ROOT = Path(settings.BASE_DIR)
# Where the worker processes are written down: `make run`, and production.
LAYOUTS = ["scripts/run_dev.sh", "docs/deploy.md"]


def _our_apps() -> set[str]:
    return {
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(ROOT) and ".venv" not in Path(config.path).parts
    }


def _our_tasks() -> dict[str, object]:
    app.loader.import_default_modules()
    ours = _our_apps()
    return {name: task for name, task in app.tasks.items() if name.split(".")[0] in ours}


def _queue_of(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def _consumed_queues(path: str) -> set[str]:
    """The queues the `celery -A oms worker -Q ...` lines of `path` consume."""
    text = (ROOT / path).read_text()
    queues: set[str] = set()
    for match in re.finditer(r"celery -A oms worker\b[^\n]*?-Q\s+([\w,]+)", text):
        queues |= set(match.group(1).split(","))
    return queues


def test_the_checks_see_the_project_tasks():
    ours = _our_tasks()
    assert _our_apps() >= {"oms", "inventory", "orders", "integrations"}
    assert "orders.tasks.order_allocate_task" in ours
    assert "integrations.tasks.inbound_event_process_task" in ours
    assert not [name for name in ours if name.startswith(("celery.", "tests."))]


def test_json_only_late_acks_and_reject_on_worker_loss():
    conf = app.conf
    assert conf.task_serializer == "json" and conf.result_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_connection_max_retries is None  # a worker never gives up on the broker


def test_every_task_acks_late():
    ours = _our_tasks()
    assert [name for name, task in ours.items() if not task.acks_late] == []


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_task_routes_to_a_queue_the_layout_consumes(layout):
    consumed = _consumed_queues(layout)
    assert consumed, f"no `celery -A oms worker -Q ...` line in {layout}"
    unconsumed = {name: _queue_of(name) for name in _our_tasks() if _queue_of(name) not in consumed}
    assert unconsumed == {}, f"{layout} runs no worker for these tasks' queues"


def test_every_queue_a_task_uses_is_one_health_watches():
    used = {_queue_of(name) for name in _our_tasks()}
    assert used <= set(settings.CELERY_QUEUES_ALL)


def test_every_route_names_a_task_that_exists():
    ours = _our_tasks()
    dead = [
        pattern for pattern in settings.CELERY_TASK_ROUTES if not any(fnmatchcase(n, pattern) for n in ours)
    ]
    assert dead == []


def _longest_hold(task) -> int:
    """Seconds a live worker may hold the task's message: its hard time limit plus its longest
    retry countdown (a retry is a message the worker holds, unacknowledged, until its ETA)."""
    limit = task.time_limit or app.conf.task_time_limit
    assert limit, f"{task.name} has no hard time limit"
    countdown = 0
    backoff_max = getattr(task, "retry_backoff_max", 600)  # Celery's default, as autoretry reads it
    if getattr(task, "autoretry_for", ()):
        if task.max_retries is None:
            countdown = backoff_max if task.retry_backoff else task.default_retry_delay
        elif task.retry_backoff:
            factor = int(max(1.0, float(task.retry_backoff)))
            countdown = min(backoff_max, factor * 2 ** (task.max_retries - 1))
        else:
            countdown = task.default_retry_delay
    return int(limit) + int(countdown)


def test_no_task_is_held_longer_than_the_visibility_timeout():
    timeout = settings.CELERY_BROKER_VISIBILITY_TIMEOUT
    too_long = {
        name: _longest_hold(task) for name, task in _our_tasks().items() if _longest_hold(task) >= timeout
    }
    assert too_long == {}, (
        f"visibility timeout {timeout}s: a second worker would run these while the first does"
    )
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit


def test_redis_urls_use_the_transport_that_survives_a_broker_drop():
    for url in ("redis://127.0.0.1:6399/3", "rediss://127.0.0.1:6399/3"):
        with Connection(url) as conn:
            assert type(conn.transport) is broker.Transport
    with app.connection_for_write("redis://127.0.0.1:6399/3") as conn:
        assert type(conn.transport) is broker.Transport


def test_a_redis_broker_gets_the_visibility_timeout():
    code = "from django.conf import settings as s; print(json.dumps(s.CELERY_BROKER_TRANSPORT_OPTIONS))"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.dev",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6399/3",
        "CELERY_BROKER_VISIBILITY_TIMEOUT": "900",
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import json, django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    options = json.loads(result.stdout.strip().splitlines()[-1])
    assert options["visibility_timeout"] == 900
    assert options["unacked_restore_interval"] <= 10


def test_production_refuses_a_visibility_timeout_under_the_time_limit():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.prod",
        "SECRET_KEY": "k" * 50,
        "FIELD_ENCRYPTION_KEY": "prod-field-key",
        "ALLOWED_HOSTS": "oms.example.com",
        "CELERY_TASK_TIME_LIMIT": "300",
        "CELERY_BROKER_VISIBILITY_TIMEOUT": "330",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "CELERY_BROKER_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT" in result.stderr
