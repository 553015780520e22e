"""Figures a bench records: each figure's value in every run, printed as the median and the spread.

A bench makes one `Recorder` when it starts (it notes the load average then) and adds one value
per run to each named figure (`recorder.add("statements per order", 35, "statements")`). At the
end, `recorder.finish()` prints each figure's median and its spread (min–max) over the runs,
beside its target when it has one, prints the load average before and after with a WARNING when
either 1-minute figure was above 1.0, and writes everything as JSON to
`var/bench/results/<script>.json` with the commit (short hash, "+dirty" when the work tree has
changes), the date, the Python and PostgreSQL versions and the options the bench ran with.
`bench/report.py` turns those files into bench/RESULTS.md.

Runs: every figure is measured at least MIN_RUNS (3) times (`--runs`, default 3). Fewer only
with `--quick` (a smoke check, marked QUICK in the output and the JSON), or for a bench that
declares a smaller default because one run is long (it says why, and the output says so too).

The machine: besides the load average, the recorder times a fixed pure-Python loop before and
after the bench (`cpu_reference_ms`, the best of three). On a shared or virtual machine the same
code can take half as long again from one hour to the next; this says how fast the machine was,
so that CPU figures taken at different times can be compared.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / "var" / "bench" / "results"
MIN_RUNS = 3
BUSY_LOAD = 1.0  # a 1-minute load average above this: the machine was not quiet
REFERENCE_LOOP = 2_000_000  # iterations of the CPU reference loop (about 0.1-0.2 s)

_COMPARE = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}
_SHOWN = {"<=": "≤", ">=": "≥", "<": "<", ">": ">", "==": "="}


# --- options ---------------------------------------------------------------------------------------
def add_run_options(parser: argparse.ArgumentParser, *, default_runs: int = MIN_RUNS, why: str = "") -> None:
    """--runs and --quick, for every bench. A default below MIN_RUNS must say `why` (a long run)."""
    if default_runs < MIN_RUNS and not why:
        raise ValueError("a bench that runs fewer than 3 times by default must say why")
    parser.add_argument(
        "--runs",
        type=int,
        default=None,
        help=f"times each figure is measured (default {default_runs}; at least {MIN_RUNS} unless --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke check: 1 run and smaller sizes unless given; its figures are marked QUICK",
    )
    parser.set_defaults(_default_runs=default_runs, _fewer_runs_why=why)


def run_count(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """How many runs: --runs, else 1 with --quick, else the bench's default. Refuses too few."""
    default = args._default_runs
    runs = args.runs if args.runs is not None else (1 if args.quick else default)
    if runs < 1:
        parser.error("--runs must be at least 1")
    if runs < MIN_RUNS and not args.quick and runs != default:
        parser.error(f"--runs below {MIN_RUNS} only with --quick: a median of fewer runs says little")
    return runs


# --- figures ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Target:
        """ "<= 9", ">= 200", "== 5"."""
        op, _, value = text.strip().partition(" ")
        if op not in _COMPARE:
            raise ValueError(f"target {text!r}: start with one of {', '.join(_COMPARE)}")
        return cls(op, float(value))

    def met(self, value: float) -> bool:
        return bool(_COMPARE[self.op](value, self.value))

    def shown(self, unit: str) -> str:
        return f"{_SHOWN[self.op]} {number(self.value)} {unit}".rstrip()


@dataclass
class Figure:
    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: Target | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.values), max(self.values)

    def line(self, width: int) -> str:
        low, high = self.spread
        runs = len(self.values)
        text = f"{self.name:<{width}}  {number(self.median):>9} {self.unit:<12}"
        text += f"  (spread {number(low)}–{number(high)} over {runs} run{'s' if runs != 1 else ''})"
        if self.target is not None:
            verdict = "met" if self.target.met(self.median) else "MISSED"
            text += f"  target {self.target.shown(self.unit)}: {verdict}"
        if self.note:
            text += f"  [{self.note}]"
        return text

    def as_json(self) -> dict[str, Any]:
        low, high = self.spread
        return {
            "name": self.name,
            "unit": self.unit,
            "values": self.values,
            "median": self.median,
            "min": low,
            "max": high,
            "runs": len(self.values),
            "target": asdict(self.target) if self.target else None,
            "met": self.target.met(self.median) if self.target else None,
            "note": self.note,
        }


def number(value: float) -> str:
    """A figure as a person reads it: whole numbers plainly, others to 3 significant digits or so."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


# --- the machine -------------------------------------------------------------------------------------
def load_average() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:  # not available on this system
        return (0.0, 0.0, 0.0)


def load_lines(before: tuple[float, ...], after: tuple[float, ...] | None = None) -> list[str]:
    """The load average before (and after) a run, and a WARNING line when a 1-minute figure was high."""

    def shown(load: tuple[float, ...]) -> str:
        return " / ".join(f"{x:.2f}" for x in load)

    lines = [f"load average (1 / 5 / 15 min) before: {shown(before)}"]
    if after is not None:
        lines.append(f"load average (1 / 5 / 15 min) after:  {shown(after)}")
    busy = [
        f"{when} {load[0]:.2f}"
        for when, load in (("before", before), ("after", after))
        if load is not None and load[0] > BUSY_LOAD
    ]
    if busy:
        lines.append(
            f"WARNING: 1-minute load average above {BUSY_LOAD:.1f} ({', '.join(busy)}) on "
            f"{os.cpu_count()} cores: the machine was busy (the 'after' figure includes this bench's "
            "own processes), so times and rates are a floor"
        )
    return lines


def cpu_reference_ms() -> float:
    """Milliseconds of CPU a fixed pure-Python loop takes here now (the best of three)."""

    def once() -> float:
        started = time.process_time()
        total = 0
        for i in range(REFERENCE_LOOP):
            total += i * i
        return time.process_time() - started

    return round(min(once() for _ in range(3)) * 1000, 1)


def git_commit() -> str:
    """The short commit, with "+dirty" when the work tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if status.strip() else "")


def postgres_version(database_url: str) -> str:
    """The server's version, asked of the server behind `database_url` ("" when it is not PostgreSQL)."""
    from bench.support import _admin_connection, is_postgres

    if not database_url or not is_postgres(database_url):
        return ""
    try:
        conn, _ = _admin_connection(database_url)
    except Exception as exc:  # the bench itself will say what is wrong with the server
        return f"unknown ({type(exc).__name__})"
    with conn:
        return str(conn.execute("SHOW server_version").fetchone()[0])


# --- the recorder ------------------------------------------------------------------------------------
class Recorder:
    """The figures of one bench's runs. Make it first: it notes the load average as the bench starts."""

    def __init__(
        self, script: str, *, runs: int, quick: bool = False, database_url: str = "", why_fewer: str = ""
    ) -> None:
        self.script = Path(script).stem
        self.runs = runs
        self.quick = quick
        self.database_url = database_url
        self.why_fewer = why_fewer if runs < MIN_RUNS and not quick else ""
        self.figures: dict[str, Figure] = {}
        self.notes: list[str] = []
        self.started_at = datetime.now(UTC)
        self.started = time.monotonic()
        self.load_before = load_average()
        self.reference_before = cpu_reference_ms()
        for line in load_lines(self.load_before):
            print(line, flush=True)
        if quick:
            print("QUICK: a smoke check, not figures to compare", flush=True)
        elif self.why_fewer:
            print(f"{runs} run{'s' if runs != 1 else ''} by default: {self.why_fewer}", flush=True)

    @classmethod
    def from_args(
        cls, script: str, parser: argparse.ArgumentParser, args: argparse.Namespace, *, database_url: str = ""
    ) -> Recorder:
        runs = run_count(parser, args)
        return cls(
            script, runs=runs, quick=args.quick, database_url=database_url, why_fewer=args._fewer_runs_why
        )

    def add(self, name: str, value: float, unit: str, *, target: str = "", note: str = "") -> None:
        """One run's value of the figure `name` (made on its first value, with its unit and target)."""
        figure = self.figures.get(name)
        if figure is None:
            figure = self.figures[name] = Figure(
                name, unit, target=Target.parse(target) if target else None, note=note
            )
        elif figure.unit != unit:
            raise ValueError(f"figure {name!r} is in {figure.unit}, not {unit}")
        figure.values.append(float(value))

    def note(self, text: str) -> None:
        """A sentence that goes with the figures (what was measured, what was left out)."""
        self.notes.append(text)

    def summary_lines(self) -> list[str]:
        width = max((len(name) for name in self.figures), default=10)
        runs = f"{self.runs} run{'s' if self.runs != 1 else ''}"
        head = f"== {self.script}: median and spread (min–max) over {runs}"
        if self.quick:
            head += " — QUICK (smoke check)"
        elif self.why_fewer:
            head += f" — fewer than {MIN_RUNS}: {self.why_fewer}"
        return [head, *(figure.line(width) for figure in self.figures.values())]

    def finish(self, *, ok: bool = True) -> Path:
        """Print the figures and the load, and write the JSON. `ok` False: the bench failed its checks."""
        load_after = load_average()
        reference = [self.reference_before, cpu_reference_ms()]
        for line in [
            "",
            *self.summary_lines(),
            *self.notes,
            *load_lines(self.load_before, load_after),
            f"CPU reference (a fixed Python loop, best of 3): {reference[0]:g} ms before, "
            f"{reference[1]:g} ms after",
        ]:
            print(line)
        document = {
            "script": self.script,
            "command": " ".join([f"bench/{self.script}.py", *sys.argv[1:]]),
            "commit": git_commit(),
            "date": self.started_at.isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - self.started, 1),
            "python": platform.python_version(),
            "postgresql": postgres_version(self.database_url),
            "cores": os.cpu_count(),
            "runs": self.runs,
            "quick": self.quick,
            "fewer_runs_why": self.why_fewer,
            "ok": ok,
            "load_before": list(self.load_before),
            "load_after": list(load_after),
            "load_warning": next((x for x in load_lines(self.load_before, load_after) if "WARNING" in x), ""),
            "cpu_reference_ms": reference,
            "figures": [figure.as_json() for figure in self.figures.values()],
            "notes": self.notes,
        }
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.script}.json"
        path.write_text(json.dumps(document, indent=2) + "\n")
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"figures written to {shown}", flush=True)
        return path


def quantile(values: list[float], q: int) -> float:
    """The q-th percentile (1-99) of `values`, as statistics.quantiles cuts them."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
