"""Who must enrol in each mode: production and the tests, owners, managers and superusers; the
laptop demo (`make run`, oms.settings.dev) nobody unless asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION = {
    "SECRET_KEY": "k" * 20 + "-production-grade-secret-value-0987654321",
    "FIELD_ENCRYPTION_KEY": "prod-field-key",
    "ALLOWED_HOSTS": "oms.example.com",
    "DATABASE_URL": "postgres://oms@db.invalid:5432/oms",  # read, never connected to
}


def rules_of(module: str, tmp_path: Path, **env: str) -> list:
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps([sorted(settings.OMS_OTP_REQUIRED_ROLES), "
        "settings.OMS_OTP_REQUIRED_FOR_SUPERUSERS, "
        "settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME.total_seconds(), "
        "settings.AXES_LOCKOUT_PARAMETERS]))"
    )
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("OMS_OTP", "OMS_SIGNIN"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**inherited, "DJANGO_SETTINGS_MODULE": module, "OMS_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_tests_enforce_the_rule():
    assert set(settings.OMS_OTP_REQUIRED_ROLES) == {"owner", "manager"}
    assert settings.OMS_OTP_REQUIRED_FOR_SUPERUSERS
    assert "oms.security.middleware.SecondFactorMiddleware" in settings.MIDDLEWARE


@pytest.mark.parametrize("module", ["oms.settings.prod", "oms.settings.test"])
def test_production_and_tests_require_owners_managers_and_superusers(module, tmp_path):
    assert rules_of(module, tmp_path, **PRODUCTION) == [["manager", "owner"], True, 5, 900.0, ["username"]]


def test_the_environment_sets_the_lockout(tmp_path):
    got = rules_of(
        "oms.settings.prod",
        tmp_path,
        **PRODUCTION,
        OMS_SIGNIN_FAILURE_LIMIT="8",
        OMS_SIGNIN_COOLOFF_MINUTES="30",
        OMS_SIGNIN_LOCKOUT_BY="username+ip_address",
        OMS_OTP_REQUIRED_ROLES="owner,manager,agent",
    )
    assert got == [["agent", "manager", "owner"], True, 8, 1800.0, [["username", "ip_address"]]]


def test_the_laptop_demo_asks_nobody_unless_told(tmp_path):
    assert rules_of("oms.settings.dev", tmp_path)[:2] == [[], False]
    assert rules_of("oms.settings.dev", tmp_path, OMS_OTP_REQUIRED_ROLES="owner")[:2] == [["owner"], True]
