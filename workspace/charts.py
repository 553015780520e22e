"""Server-rendered charts: geometry for inline SVG bars and widths for CSS bars (no JavaScript)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HEIGHT = 120
BAR = 14
GAP = 4


@dataclass
class Bar:
    x: int
    y: int
    height: int
    value: int
    label: str
    url: str = ""


def day_bars(
    daily: list[tuple[dt.date, int]], link: Callable[[dt.date], str] | None = None
) -> dict[str, Any]:
    """One SVG bar per day (a link to that day's rows when `link` is given); the tallest is
    HEIGHT pixels high."""
    top = max((n for _, n in daily), default=0) or 1
    bars = []
    for i, (day, n) in enumerate(daily):
        height = round(HEIGHT * n / top)
        url = link(day) if link else ""
        bars.append(Bar(i * (BAR + GAP), HEIGHT - height, height, n, f"{day:%b %d}", url))
    return {
        "bars": bars,
        "width": len(daily) * (BAR + GAP),
        "height": HEIGHT,
        "bar": BAR,
        "top": top,
        "first": daily[0][0] if daily else None,
        "last": daily[-1][0] if daily else None,
    }


def widths(rows: list[Any], attr: str) -> list[tuple[Any, int]]:
    """(row, percent of the largest) for horizontal CSS bars."""
    values = [getattr(r, attr) if not isinstance(r, tuple | dict) else r[attr] for r in rows]
    top = max(values, default=0) or 1
    return [(r, round(100 * v / top)) for r, v in zip(rows, values, strict=True)]
