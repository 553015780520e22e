"""Two small SQL pieces the dashboard needs on both databases: seconds since the epoch of a
timestamp, and percentiles (PostgreSQL's `percentile_cont`; on SQLite, the same interpolation
over the values read in one query)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Aggregate, FloatField, Func, QuerySet


class EpochSeconds(Func):
    """A timestamp as seconds since 1970 (a float), on PostgreSQL and SQLite."""

    output_field = FloatField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="(julianday(%(expressions)s) * 86400.0)", **extra)


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, fraction=repr(self.fraction), **extra)


def interpolated(values: list[float], fraction: float) -> float | None:
    """`percentile_cont` in Python: linear interpolation between the two nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def percentiles(queryset: QuerySet[Any], expression: Any, fractions: Iterable[float]) -> list[float | None]:
    """The percentiles of `expression` over `queryset`, in one query on either database."""
    fractions = list(fractions)
    if connection.vendor == "postgresql":
        found = queryset.aggregate(
            **{f"p{i}": PercentileCont(expression, fraction) for i, fraction in enumerate(fractions)}
        )
        return [found[f"p{i}"] for i in range(len(fractions))]
    values = [
        v for v in queryset.annotate(_value=expression).values_list("_value", flat=True) if v is not None
    ]
    return [interpolated(values, fraction) for fraction in fractions]
