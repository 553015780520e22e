"""Write bench/RESULTS.md from the figures the benches recorded in var/bench/results/*.json.

For each bench script (bench/*.py but this one): the command it ran, its commit, date, Python and
PostgreSQL versions, the load average before and after (with the WARNING when it was high), and
a table of figure | median | spread | unit | runs | target. A script that recorded nothing (it
does not use bench/support/results.py, or it has not run here) is listed as such, and a file
that cannot be read is named with its problem: the report is written all the same.

Run: `.venv/bin/python bench/report.py` (options: --results, --out). `make bench` runs it last.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support.results import RESULTS_DIR, Target, number  # noqa: E402

NOT_SCRIPTS = {"report", "__init__"}


def bench_scripts(bench_dir: Path) -> list[str]:
    return sorted(p.stem for p in bench_dir.glob("*.py") if p.stem not in NOT_SCRIPTS)


def load(results_dir: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The recorded documents by script, and the files that could not be read (with why)."""
    documents: dict[str, dict[str, Any]] = {}
    problems: dict[str, str] = {}
    for path in sorted(results_dir.glob("*.json")):
        try:
            document = json.loads(path.read_text())
            if not isinstance(document, dict) or not isinstance(document.get("figures"), list):
                raise ValueError("no list of figures")
        except (OSError, ValueError) as exc:
            problems[path.stem] = f"{path.name}: {exc}"
            continue
        documents[str(document.get("script") or path.stem)] = document
    return documents, problems


def _load(values: Any) -> str:
    try:
        return " / ".join(f"{float(x):.2f}" for x in values)
    except (TypeError, ValueError):
        return "?"


def _target(figure: dict[str, Any]) -> str:
    spec = figure.get("target")
    if not spec:
        return ""
    try:
        target = Target(str(spec["op"]), float(spec["value"]))
        verdict = "met" if target.met(float(figure["median"])) else "**missed**"
    except (KeyError, TypeError, ValueError):
        return "?"
    return f"{target.shown(str(figure.get('unit', '')))} ({verdict})"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def section(script: str, document: dict[str, Any]) -> list[str]:
    runs = document.get("runs", "?")
    kind = " — **QUICK** (a smoke check)" if document.get("quick") else ""
    if document.get("fewer_runs_why"):
        kind += f" — {runs} run(s) by default: {document['fewer_runs_why']}"
    out = [f"## {script}{kind}", ""]
    out.append(f"- command: `{document.get('command', f'bench/{script}.py')}`")
    out.append(
        f"- commit {document.get('commit', '?')}, {document.get('date', '?')}, "
        f"{document.get('duration_s', '?')} s; Python {document.get('python', '?')}, "
        f"PostgreSQL {document.get('postgresql') or '—'}, {document.get('cores', '?')} cores"
    )
    out.append(
        f"- load average (1 / 5 / 15 min): before {_load(document.get('load_before'))}, "
        f"after {_load(document.get('load_after'))}"
    )
    reference = document.get("cpu_reference_ms")
    if isinstance(reference, list) and len(reference) == 2:
        out.append(
            f"- CPU reference (a fixed Python loop, best of 3; lower is a faster machine): "
            f"{reference[0]} ms before, {reference[1]} ms after"
        )
    if document.get("load_warning"):
        out.append(f"- **{document['load_warning']}**")
    if document.get("ok") is False:
        out.append("- **FAILED: the bench's own checks did not pass (see the notes and the targets)**")
    for note in document.get("notes") or []:
        out.append(f"- {_cell(note)}")
    out += ["", "| figure | median | spread | unit | runs | target |", "|---|---|---|---|---|---|"]
    for figure in document["figures"]:
        try:
            median = number(float(figure["median"]))
            spread = f"{number(float(figure['min']))}–{number(float(figure['max']))}"
        except (KeyError, TypeError, ValueError):
            median = spread = "?"
        out.append(
            f"| {_cell(figure.get('name', '?'))} | {median} | {spread} | {_cell(figure.get('unit', ''))} | "
            f"{figure.get('runs', '?')} | {_target(figure)} |"
        )
    return [*out, ""]


def uses_recorder(script: Path) -> bool:
    try:
        return "bench.support.results" in script.read_text()
    except OSError:
        return False


def render(
    scripts: list[str],
    documents: dict[str, dict[str, Any]],
    problems: dict[str, str],
    bench_dir: Path = ROOT / "bench",
) -> str:
    out = [
        "# Benchmark results",
        "",
        "Written by `bench/report.py` from `var/bench/results/*.json` (what each bench recorded on its",
        "last run here; `make bench` runs them all, then this). Do not edit by hand: rerun the benches.",
        "Each figure is the median over the runs, with its spread (min–max); see docs/benchmarks.md.",
        "",
    ]
    for script in sorted(set(scripts) | set(documents) | set(problems)):
        if script in documents:
            out += section(script, documents[script])
        elif script in problems:
            out += [f"## {script}", "", f"Its results could not be read: {_cell(problems[script])}", ""]
        elif uses_recorder(bench_dir / f"{script}.py"):
            out += [f"## {script}", "", "Not run for this report: no figures recorded.", ""]
        else:
            out += [
                f"## {script}",
                "",
                "No figures recorded: the script does not use bench/support/results.py.",
                "",
            ]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="where the JSON files are")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    documents, problems = load(args.results)
    args.out.write_text(render(bench_scripts(ROOT / "bench"), documents, problems))
    shown = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    print(f"{shown}: {len(documents)} bench(es) with figures, {len(problems)} unreadable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
