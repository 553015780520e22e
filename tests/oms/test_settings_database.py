"""Production keeps database connections and checks them before reuse; dev and tests open one per request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "SECRET_KEY": "k" * 20 + "-production-grade-secret-value-0987654321",
    "FIELD_ENCRYPTION_KEY": "prod-field-key",
    "ALLOWED_HOSTS": "oms.example.com",
    "DATABASE_URL": "postgres://oms@db.invalid:5432/oms",  # read, never connected to
}


def _connection_settings(module: str, tmp_path: Path, **env: str) -> tuple[int, bool]:
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "db = settings.DATABASES['default']; "
        "print(json.dumps([db['CONN_MAX_AGE'], db.get('CONN_HEALTH_CHECKS', False)]))"
    )
    inherited = {k: v for k, v in os.environ.items() if k not in ("DB_CONN_MAX_AGE", "DATABASE_URL")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**inherited, "DJANGO_SETTINGS_MODULE": module, "OMS_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    max_age, health_checks = json.loads(result.stdout.strip().splitlines()[-1])
    return max_age, health_checks


def test_production_keeps_a_connection_a_minute_and_checks_it_before_reuse(tmp_path):
    assert _connection_settings("oms.settings.prod", tmp_path, **PRODUCTION) == (60, True)


def test_production_takes_the_connection_age_from_the_environment(tmp_path):
    assert _connection_settings("oms.settings.prod", tmp_path, **PRODUCTION, DB_CONN_MAX_AGE="0") == (0, True)
    assert _connection_settings("oms.settings.prod", tmp_path, **PRODUCTION, DB_CONN_MAX_AGE="300") == (
        300,
        True,
    )


def test_development_and_tests_open_a_connection_per_request(tmp_path):
    assert _connection_settings("oms.settings.dev", tmp_path)[0] == 0
    assert _connection_settings("oms.settings.test", tmp_path)[0] == 0
