"""Fault tests report their figures (tasks, drops, lost, stuck...) at the end of the run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

_FIGURES: list[str] = []


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    def report(line: str) -> None:
        _FIGURES.append(f"{request.node.name}: {line}")

    return report


def pytest_terminal_summary(terminalreporter) -> None:
    if _FIGURES:
        terminalreporter.section("fault figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
