"""Server-rendered charts: geometry for inline SVG bars and widths for CSS bars (no JavaScript)."""

from __future__ import annotations

import datetime as dt
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


def day_bars(daily: list[tuple[dt.date, int]]) -> dict[str, Any]:
    """One SVG bar per day; the tallest is HEIGHT pixels high."""
    top = max((n for _, n in daily), default=0) or 1
    bars = []
    for i, (day, n) in enumerate(daily):
        height = round(HEIGHT * n / top)
        bars.append(Bar(x=i * (BAR + GAP), y=HEIGHT - height, height=height, value=n, label=f"{day:%b %d}"))
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
