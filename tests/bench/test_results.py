"""The bench recorder: medians and spreads, the run rules, the load warning, the JSON it leaves."""

from __future__ import annotations

import argparse
import json

import pytest

from bench.support import results
from bench.support.results import Recorder, Target, add_run_options, load_lines, run_count


def _parser(**kwargs):
    parser = argparse.ArgumentParser()
    add_run_options(parser, **kwargs)
    return parser


def test_runs_default_to_three_and_refuse_fewer_without_quick():
    parser = _parser()
    assert run_count(parser, parser.parse_args([])) == 3
    assert run_count(parser, parser.parse_args(["--runs", "5"])) == 5
    with pytest.raises(SystemExit):
        run_count(parser, parser.parse_args(["--runs", "2"]))


def test_quick_allows_a_single_run():
    parser = _parser()
    assert run_count(parser, parser.parse_args(["--quick"])) == 1
    assert run_count(parser, parser.parse_args(["--quick", "--runs", "2"])) == 2


def test_a_long_bench_may_default_to_one_run_only_when_it_says_why():
    with pytest.raises(ValueError, match="say why"):
        _parser(default_runs=1)
    parser = _parser(default_runs=1, why="a run takes ten minutes")
    assert run_count(parser, parser.parse_args([])) == 1
    with pytest.raises(SystemExit):
        run_count(parser, parser.parse_args(["--runs", "2"]))


def test_load_warning_only_when_a_one_minute_figure_is_above_one():
    quiet = load_lines((0.4, 0.5, 0.6), (0.9, 0.5, 0.6))
    assert not any("WARNING" in line for line in quiet)
    busy = load_lines((0.4, 0.5, 0.6), (1.7, 0.9, 0.6))
    assert busy[-1].startswith("WARNING:") and "after 1.70" in busy[-1]
    assert any("WARNING" in line for line in load_lines((2.5, 1.0, 1.0)))


def test_targets_compare_the_median():
    assert Target.parse("<= 9").met(9.0) and not Target.parse("<= 9").met(9.5)
    assert Target.parse(">= 200").met(201) and not Target.parse(">= 200").met(23)
    assert Target.parse("== 5").met(5) and not Target.parse("== 5").met(6)
    with pytest.raises(ValueError):
        Target.parse("about 9")


def test_recorder_prints_median_and_spread_and_writes_the_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(results, "load_average", lambda: (1.5, 1.0, 0.5))
    recorder = Recorder("bench/demo.py", runs=3)
    for value in (70.0, 64.0, 90.0):
        recorder.add("core per order", value, "ms", target="<= 9")
    recorder.add("statements per order", 35, "statements")
    recorder.note("two-line orders")
    path = recorder.finish()

    printed = capsys.readouterr().out
    assert "core per order" in printed and " 70 ms" in printed and "spread 64–90 over 3 runs" in printed
    assert "target ≤ 9 ms: MISSED" in printed
    assert "WARNING: 1-minute load average above 1.0" in printed
    document = json.loads(path.read_text())
    assert path == tmp_path / "demo.json"
    assert document["script"] == "demo" and document["runs"] == 3 and document["quick"] is False
    assert document["commit"] and document["date"] and document["python"]
    assert document["load_before"] == [1.5, 1.0, 0.5] and document["load_warning"].startswith("WARNING")
    assert len(document["cpu_reference_ms"]) == 2 and all(ms > 0 for ms in document["cpu_reference_ms"])
    assert "CPU reference (a fixed Python loop, best of 3)" in printed
    core = document["figures"][0]
    assert (core["median"], core["min"], core["max"], core["runs"]) == (70.0, 64.0, 90.0, 3)
    assert core["target"] == {"op": "<=", "value": 9.0} and core["met"] is False
    assert document["notes"] == ["two-line orders"]


def test_a_figure_keeps_its_unit():
    recorder = Recorder("bench/demo.py", runs=3)
    recorder.add("wall", 1.0, "s")
    with pytest.raises(ValueError, match="is in s, not ms"):
        recorder.add("wall", 1000.0, "ms")


def test_quick_runs_are_marked(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    recorder = Recorder("bench/demo.py", runs=1, quick=True)
    recorder.add("orders/s", 12.5, "orders/s")
    document = json.loads(recorder.finish().read_text())
    assert document["quick"] is True
    assert "QUICK" in capsys.readouterr().out
