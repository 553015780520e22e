"""Production settings behind a transaction pooler: nothing that outlives a transaction."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.deploy.conftest import ROOT

SHOW = (
    "import json; from django.conf import settings as s; d = s.DATABASES['default'];"
    "print(json.dumps([d.get('OPTIONS', {}).get('prepare_threshold', 'unset'),"
    " d.get('DISABLE_SERVER_SIDE_CURSORS', False), s.DATABASE_DIRECT_URL]))"
)


def _prod(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {SHOW}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("DB_POOLER", "DATABASE_DIRECT_URL")},
            "DJANGO_SETTINGS_MODULE": "oms.settings.prod",
            "DATABASE_URL": "postgres://oms@127.0.0.1:6432/oms",
            "SECRET_KEY": "k" * 50,
            "FIELD_ENCRYPTION_KEY": "f" * 32,
            "ALLOWED_HOSTS": "127.0.0.1",
            **env,
        },
    )


def test_behind_a_transaction_pooler_no_prepared_statements_nor_server_side_cursors():
    done = _prod(DB_POOLER="transaction", DATABASE_DIRECT_URL="postgres://oms@127.0.0.1:5432/oms")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [None, True, "postgres://oms@127.0.0.1:5432/oms"]


def test_straight_to_postgresql_psycopg_keeps_its_defaults():
    done = _prod()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == ["unset", False, "postgres://oms@127.0.0.1:6432/oms"]


def test_an_unknown_pooler_mode_refuses_to_start():
    done = _prod(DB_POOLER="statement")
    assert done.returncode != 0
    assert "DB_POOLER must be empty, 'session' or 'transaction'" in done.stderr
