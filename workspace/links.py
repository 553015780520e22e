"""Links from a figure to the admin list behind it: a changelist with the filters that select
exactly the rows the figure counts (list filters and plain field lookups in the query string)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.http import urlencode


def changelist(model: str, **params: Any) -> str:
    """`changelist("orders.order", state="on_hold")` -> "/admin/orders/order/?state=on_hold"."""
    app, name = model.split(".")
    url = reverse(f"admin:{app}_{name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def change(model: str, pk: Any) -> str:
    app, name = model.split(".")
    return reverse(f"admin:{app}_{name}_change", args=[pk])


def ids(values: Any) -> str:
    """The value of an `id__in=` filter."""
    return ",".join(str(v) for v in values)
