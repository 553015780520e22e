"""Every stock service at once, for longer: the workload of tests/stress/ with more rounds.

Receipts, adjustments, counts, transfers, inbound receipts and cancels, reservations (held,
released, expired, consumed), orders placed, edited, re-allocated, cancelled and shipped, and
restocks, from --processes OS processes (default 3) for --rounds operations each (default
800), over --skus SKUs (default 6) in --warehouses warehouses (default 3), so that every
operation overlaps with the others. Prints the figures: rounds, operations by kind, what the
rules refused, deadlocks, retries, oversold rows, rows whose `allocated` / `reserved` differ
from the allocations / reservations behind them, and `reconcile_stock` differences. Exits 1
when any of those is not 0.

Run: `.venv/bin/python bench/stress.py` (options: --processes, --rounds, --skus, --warehouses,
--seed, --database-url). The database (default postgres://postgres@127.0.0.1:5432/oms_bench_stress,
or BENCH_STRESS_DATABASE_URL) is dropped and re-created on each run; it must be PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import is_postgres, recreate_database  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument(
    "--database-url",
    # Never DATABASE_URL: this bench drops and re-creates its database.
    default=os.environ.get(
        "BENCH_STRESS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_stress"
    ),
)
parser.add_argument("--processes", type=int, default=3)
parser.add_argument("--rounds", type=int, default=800, help="operations per process")
parser.add_argument("--skus", type=int, default=6)
parser.add_argument("--warehouses", type=int, default=3)
parser.add_argument("--seed", type=int, default=20261126)
args = parser.parse_args()

os.environ["DJANGO_SETTINGS_MODULE"] = "oms.settings.test"
os.environ["DATABASE_URL"] = args.database_url
os.environ.setdefault("LOG_LEVEL", "WARNING")


if not is_postgres(args.database_url):
    sys.exit("bench/stress.py needs PostgreSQL: row locks and deadlocks are what it measures")
recreate_database(args.database_url)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from tests.stress.workload import ZERO_CHECKS, StressConfig, run  # noqa: E402


def main() -> int:
    call_command("migrate", verbosity=0)
    report = run(
        StressConfig(
            processes=args.processes,
            rounds=args.rounds,
            skus=args.skus,
            warehouses=args.warehouses,
            seed=args.seed,
        )
    )
    print("\n".join(report.lines()))
    failed = [name for name in ZERO_CHECKS if report.checks.get(name)]
    if report.deadlocks or report.retries or report.errors or failed:
        print("FAILED: " + ", ".join(failed or ["deadlocks or errors"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
