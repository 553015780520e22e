"""Every stock service at once, from several processes, on PostgreSQL: no deadlock, no oversell, no drift.

Bounded (about half a minute on two cores); bench/stress.py runs the same workload longer.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.stress.workload import ZERO_CHECKS, StressConfig, run

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and deadlocks need PostgreSQL"),
]


@pytest.mark.django_db(transaction=True)
def test_mixed_stock_workload_from_three_processes(capsys):
    config = StressConfig(
        processes=int(os.environ.get("STRESS_PROCESSES", "3")),
        rounds=int(os.environ.get("STRESS_ROUNDS", "150")),
    )

    report = run(config)

    with capsys.disabled():
        print("\n" + "\n".join(report.lines()))  # noqa: T201  (the figures belong in the CI log)
    assert report.errors == []
    assert report.deadlocks == 0
    assert report.retries == 0
    for name in ZERO_CHECKS:
        assert report.checks[name] == 0, name
    assert "0 drifted" in report.checks["reconcile_stock"]
    assert sum(report.operations.values()) == config.processes * config.rounds
