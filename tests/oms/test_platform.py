from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command

from oms.models import ApiKey, Membership, Tenant
from tests.conftest import api_client_for

ROOT = Path(__file__).resolve().parents[2]


def test_health_reports_database_and_broker(client, db, settings):
    settings.HEALTH_QUEUE_MAX_AGE_SECONDS = 10**9  # a message an earlier test left is not this test's concern
    response = client.get("/health")
    body = response.json()
    assert response.status_code == 200, body
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["reasons"] == []


def test_every_response_carries_a_request_id(client, db):
    assert len(client.get("/health")["X-Request-ID"]) == 32
    assert client.get("/health", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"


def test_bootstrap_tenant_prints_a_working_key_once(db, capsys):
    call_command("bootstrap_tenant", slug="initech", name="Initech", owner_email="boss@initech.test")
    out = capsys.readouterr().out
    raw = out.strip().splitlines()[-1]
    tenant = Tenant.objects.get(slug="initech")
    membership = Membership.objects.for_tenant(tenant).get()
    assert membership.role == "owner" and membership.user.is_staff
    key = ApiKey.objects.for_tenant(tenant).get()
    assert raw.startswith(f"oms_{key.prefix}_")
    assert api_client_for(raw).get("/api/v1/me/").json()["tenant"] == "initech"


def test_bootstrap_tenant_refuses_a_taken_slug(db, tenant_a):
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already exists"):
        call_command("bootstrap_tenant", slug="acme", name="Again", owner_email="x@acme.test")


def test_check_deploy_under_production_settings_is_clean():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.prod",
        "SECRET_KEY": "k" * 20 + "-production-grade-secret-value-0987654321",
        "FIELD_ENCRYPTION_KEY": "prod-field-key",
        "ALLOWED_HOSTS": "oms.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update({"DJANGO_SETTINGS_MODULE": "oms.settings.prod", "ALLOWED_HOSTS": "x"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
