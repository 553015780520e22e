"""bench/fairness.py and bench/tenants.py follow the conventions: --runs, --quick, their own database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


BENCHES = [("fairness", "oms_bench_fairness"), ("tenants", "oms_bench_tenants")]


@pytest.mark.parametrize(("script", "database"), BENCHES)
def test_the_bench_takes_runs_and_quick_and_never_the_apps_database(script, database):
    shown = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{script}.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "--runs" in shown and "--quick" in shown
    assert database in shown and "never DATABASE_URL" in shown
