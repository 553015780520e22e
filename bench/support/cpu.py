"""Where a bench's CPU went, from Linux's /proc: the whole machine, process groups, PostgreSQL backends.

A bench that starts servers and workers shares the machine's cores with them, with PostgreSQL and
with whatever else runs. Snapshots taken before and after a run say how much of the machine the
run's own processes used and how much was left to everything else (the load it ran under).
Off Linux every figure is 0.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid_dir: Path) -> list[str] | None:
    try:
        text = (pid_dir / "stat").read_text()
    except OSError:  # gone meanwhile, or not ours to read
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, pgrp, ...


def _cpu_seconds(fields: list[str]) -> float:
    # utime, stime, cutime, cstime (the last two: children already reaped)
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


def process_seconds(pid: int) -> float:
    """CPU seconds (user + system) that one process has used itself, e.g. a PostgreSQL backend.

    Linux counts them in clock ticks (SC_CLK_TCK, usually 100 a second): measure over many
    operations, not one.
    """
    fields = _stat_fields(PROC / str(pid))
    if fields is None:
        raise ProcessLookupError(f"no readable /proc/{pid}/stat: is the process on this machine?")
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_seconds() -> tuple[float, float]:
    """(busy, elapsed) CPU seconds of every core together since boot."""
    try:
        values = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def group_seconds(pgid: int) -> float:
    """CPU seconds used by the processes of one process group (a server and its workers)."""
    total = 0.0
    for pid_dir in PROC.glob("[0-9]*"):
        fields = _stat_fields(pid_dir)
        if fields is not None and int(fields[2]) == pgid:
            total += _cpu_seconds(fields)
    return total


def postgres_backend_seconds(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to `database` (by pid)."""
    found = {}
    for pid_dir in PROC.glob("[0-9]*"):
        try:
            title = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            fields = _stat_fields(pid_dir)
            if fields is not None:
                found[int(pid_dir.name)] = _cpu_seconds(fields)
    return found


@dataclass
class CpuSnapshot:
    """CPU counters at one moment: the machine, each named process group, PostgreSQL, this process."""

    at: float
    machine_busy: float
    groups: dict[str, float]
    postgres: dict[int, float]
    own: float


@dataclass
class CpuUse:
    """Cores used on average between two snapshots (2.0 = two cores busy the whole time)."""

    seconds: float
    cores: int
    machine: float
    groups: dict[str, float] = field(default_factory=dict)
    postgres: float = 0.0  # a floor: backends that ended meanwhile are not counted
    own: float = 0.0

    @property
    def ours(self) -> float:
        return sum(self.groups.values()) + self.postgres + self.own

    @property
    def others(self) -> float:
        return max(self.machine - self.ours, 0.0)


def cpu_snapshot(groups: dict[str, int], database: str) -> CpuSnapshot:
    return CpuSnapshot(
        at=time.monotonic(),
        machine_busy=machine_seconds()[0],
        groups={name: group_seconds(pgid) for name, pgid in groups.items()},
        postgres=postgres_backend_seconds(database),
        own=time.process_time(),
    )


def cpu_use(before: CpuSnapshot, after: CpuSnapshot) -> CpuUse:
    seconds = max(after.at - before.at, 1e-9)
    postgres = sum(value - before.postgres.get(pid, 0.0) for pid, value in after.postgres.items())
    return CpuUse(
        seconds=seconds,
        cores=os.cpu_count() or 1,
        machine=(after.machine_busy - before.machine_busy) / seconds,
        groups={name: (after.groups[name] - before.groups.get(name, 0.0)) / seconds for name in after.groups},
        postgres=postgres / seconds,
        own=(after.own - before.own) / seconds,
    )
