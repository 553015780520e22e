"""bench/report.py: a section per bench from its JSON, and a word for those that recorded nothing."""

from __future__ import annotations

import json

from bench import report


def _document(**extra):
    return {
        "script": "place",
        "command": "bench/place.py --runs 3",
        "commit": "abc1234",
        "date": "2026-11-26T17:00:00+00:00",
        "python": "3.11.7",
        "postgresql": "15.20",
        "runs": 3,
        "quick": False,
        "load_before": [0.5, 0.4, 0.3],
        "load_after": [1.4, 0.6, 0.4],
        "load_warning": "WARNING: 1-minute load average above 1.0 (after 1.40)",
        "cpu_reference_ms": [150.0, 190.5],
        "figures": [
            {
                "name": "statements per order",
                "unit": "statements",
                "values": [45, 45, 46],
                "median": 45,
                "min": 45,
                "max": 46,
                "runs": 3,
                "target": {"op": "<=", "value": 12},
            }
        ],
        "notes": ["two-line orders"],
        **extra,
    }


def test_report_has_a_table_per_bench_and_names_the_silent_ones(tmp_path):
    (tmp_path / "place.json").write_text(json.dumps(_document()))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "broker.py").write_text("print('no recorder here')\n")
    (tmp_path / "stress.py").write_text("from bench.support.results import Recorder\n")
    documents, problems = report.load(tmp_path)
    text = report.render(["place", "broker", "stress"], documents, problems, bench_dir=tmp_path)

    assert "## place" in text and "commit abc1234" in text and "`bench/place.py --runs 3`" in text
    assert "before 0.50 / 0.40 / 0.30, after 1.40 / 0.60 / 0.40" in text
    assert "**WARNING: 1-minute load average above 1.0 (after 1.40)**" in text
    assert "150.0 ms before, 190.5 ms after" in text
    assert "| statements per order | 45 | 45–46 | statements | 3 | ≤ 12 statements (**missed**) |" in text
    assert "## broker\n\nNo figures recorded: the script does not use" in text
    assert "## stress\n\nNot run for this report" in text
    assert "## broken\n\nIts results could not be read: broken.json:" in text


def test_quick_and_failed_runs_are_marked(tmp_path):
    (tmp_path / "place.json").write_text(json.dumps(_document(quick=True, ok=False)))
    documents, problems = report.load(tmp_path)
    text = report.render(["place"], documents, problems)
    assert "## place — **QUICK**" in text
    assert "**FAILED" in text


def test_main_writes_the_file(tmp_path):
    (tmp_path / "place.json").write_text(json.dumps(_document()))
    out = tmp_path / "RESULTS.md"
    assert report.main(["--results", str(tmp_path), "--out", str(out)]) == 0
    assert out.read_text().startswith("# Benchmark results")
