"""/health/live answers while the process runs; /health/ready (and /health, as before) checks the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from oms.celery import app
from oms.workers import worker_heartbeat_record

ROOT = Path(__file__).resolve().parents[2]
ALL = ["default", "ingest", "allocation", "labels", "sync"]


@pytest.fixture
def broker_down(monkeypatch):
    monkeypatch.setitem(app.conf, "broker_write_url", "redis://127.0.0.1:9/0")


def test_liveness_reads_neither_database_nor_broker(broker_down):
    # No `db` fixture: pytest-django refuses any query, so a 200 proves none was made.
    response = Client().get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_liveness_refuses_other_methods():
    assert Client().post("/health/live").status_code == 405


@pytest.mark.parametrize("path", ["/health/ready", "/health"])
def test_readiness_answers_503_with_the_reasons_when_the_broker_is_down(db, broker_down, path):
    response = Client().get(path)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert "the broker is unreachable" in body["reasons"]


@pytest.mark.parametrize("path", ["/health/ready", "/health"])
def test_readiness_answers_200_when_everything_is_up(db, settings, path):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_QUEUES_ALL = ALL
    settings.HEALTH_QUEUE_MAX_AGE_SECONDS = 10**9
    worker_heartbeat_record(name="celery@host:1", queues=ALL)
    response = Client().get(path)
    assert response.status_code == 200, response.json()
    assert response.json()["reasons"] == []


def test_readiness_and_health_report_the_same_checks(db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_QUEUES_ALL = ALL
    ready = Client().get("/health/ready").json()
    legacy = Client().get("/health").json()
    assert (
        set(ready)
        == set(legacy)
        == {
            "status",
            "database",
            "broker",
            "workers",
            "queues",
            "outbox",
            "reasons",
            "elapsed_ms",
        }
    )
    assert ready["reasons"] == legacy["reasons"]


PROD_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
print(json.dumps({
    "live": client.get("/health/live").status_code,
    "metrics": client.get("/metrics").status_code,
    "admin": client.get("/admin/").status_code,
    "log_format": settings.LOGGING["handlers"]["console"]["formatter"],
}))
"""


def test_production_probes_use_plain_http_metrics_need_a_token_and_logs_are_json():
    """Under oms.settings.prod: a probe over plain HTTP is answered, not redirected to HTTPS (a 301
    would pass a probe without checking anything); /metrics without METRICS_TOKEN refuses even
    this host; logs are JSON."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "METRICS_TOKEN")},
        "DJANGO_SETTINGS_MODULE": "oms.settings.prod",
        "SECRET_KEY": "prod-probe-test-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "FIELD_ENCRYPTION_KEY": "prod-probe-field-key",
        "ALLOWED_HOSTS": "testserver",
    }
    run = subprocess.run(
        [sys.executable, "-c", PROD_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen == {"live": 200, "metrics": 403, "admin": 301, "log_format": "json"}
