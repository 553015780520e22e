"""Every stock service at once, for longer: the workload of tests/stress/ with more rounds.

Receipts, adjustments, counts, transfers, inbound receipts and cancels, reservations (held,
released, expired, consumed), orders placed, edited, re-allocated, cancelled and shipped, and
restocks, from --processes OS processes (default 3) for --rounds operations each (default
800), over --skus SKUs (default 6) in --warehouses warehouses (default 3), so that every
operation overlaps with the others. Prints the figures: rounds, operations by kind, what the
rules refused, deadlocks, retries, oversold rows, rows whose `allocated` / `reserved` differ
from the allocations / reservations behind them, and `reconcile_stock` differences. Exits 1
when any of those is not 0.

One run by default: a run is 2,400 operations and takes about three minutes, and its main
figures are counts that must be 0 (--runs 3 for the median and spread of the rates; each run
has a tenant of its own). --quick: 1 run of 100 rounds per process unless given.

Run: `.venv/bin/python bench/stress.py` (options: --processes, --rounds, --skus, --warehouses,
--seed, --runs, --quick, --database-url). The database (default postgres://postgres@127.0.0.1:5432/oms_bench_stress,
or BENCH_STRESS_DATABASE_URL) is dropped and re-created on each run; it must be PostgreSQL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import bench_parser, is_postgres, recreate_database  # noqa: E402
from bench.support.results import Recorder, add_run_options  # noqa: E402

parser = bench_parser(
    __doc__,
    env="BENCH_STRESS_DATABASE_URL",
    database="oms_bench_stress",
    why="this bench drops and re-creates its database",
)
parser.add_argument("--processes", type=int, default=3)
parser.add_argument("--rounds", type=int, help="operations per process (default 800, --quick 100)")
parser.add_argument("--skus", type=int, default=6)
parser.add_argument("--warehouses", type=int, default=3)
parser.add_argument("--seed", type=int, default=20261126)
add_run_options(
    parser, default_runs=1, why="one run is 2,400 operations (about 3 minutes); its checks are counts"
)
args = parser.parse_args()
args.rounds = args.rounds or (100 if args.quick else 800)

os.environ["DJANGO_SETTINGS_MODULE"] = "oms.settings.test"
os.environ["DATABASE_URL"] = args.database_url
os.environ.setdefault("LOG_LEVEL", "WARNING")


if not is_postgres(args.database_url):
    sys.exit("bench/stress.py needs PostgreSQL: row locks and deadlocks are what it measures")
recorder = Recorder.from_args(__file__, parser, args, database_url=args.database_url)
recreate_database(args.database_url)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from tests.stress.workload import ZERO_CHECKS, StressConfig, run  # noqa: E402


def main() -> int:
    call_command("migrate", verbosity=0)
    failures: list[str] = []
    for run_number in range(1, recorder.runs + 1):
        report = run(
            StressConfig(
                processes=args.processes,
                rounds=args.rounds,
                skus=args.skus,
                warehouses=args.warehouses,
                seed=args.seed,
                tenant_slug=f"stress-{run_number}",
            )
        )
        print(f"== run {run_number} of {recorder.runs}")
        print("\n".join(report.lines()), flush=True)
        operations = sum(report.operations.values())
        recorder.add("operations/s", operations / report.seconds, "operations/s")
        recorder.add("refused by a rule (expected)", sum(report.refused.values()), "operations")
        recorder.add("deadlocks", report.deadlocks, "deadlocks", target="== 0")
        recorder.add("retries", report.retries, "retries", target="== 0")
        recorder.add("unexpected errors", len(report.errors), "errors", target="== 0")
        for name in ZERO_CHECKS:
            recorder.add(name, report.checks.get(name, 0), "rows", target="== 0")
        failures += [name for name in ZERO_CHECKS if report.checks.get(name)]
        if report.deadlocks or report.retries or report.errors:
            failures.append("deadlocks or errors")
    recorder.note(
        f"{args.processes} processes × {args.rounds} operations over {args.skus} SKUs × "
        f"{args.warehouses} warehouses per run."
    )
    recorder.finish(ok=not failures)
    if failures:
        print("FAILED: " + ", ".join(sorted(set(failures))))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
