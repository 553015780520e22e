"""Return reads: one return, lists, a scan on the receiving page, the return-rate report.
Every read takes the tenant; another tenant's return does not exist (404)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from oms.core.errors import NotFoundError
from orders.models import OrderLine
from returns.models import ReturnLine, ReturnReceipt, ReturnRefund, ReturnRequest
from returns.states import RECEIVABLE, ReturnReason, ReturnState


def _detailed(qs: QuerySet[ReturnRequest]) -> QuerySet[ReturnRequest]:
    lines = ReturnLine.objects.select_related("sku").prefetch_related(
        Prefetch("receipts", queryset=ReturnReceipt.objects.select_related("warehouse").order_by("pk"))
    )
    return qs.select_related("label", "warehouse", "order").prefetch_related(
        Prefetch("lines", queryset=lines.order_by("pk")),
        Prefetch("refunds", queryset=ReturnRefund.objects.order_by("pk")),
    )


def return_get(*, tenant: Any, return_id: Any) -> ReturnRequest:
    ret = _detailed(ReturnRequest.objects.for_tenant(tenant).filter(pk=return_id)).first()
    if ret is None:
        raise NotFoundError("return_not_found", "No such return.", return_id=return_id)
    return ret


def return_list(
    *, tenant: Any, order_id: int | None = None, state: str | None = None
) -> QuerySet[ReturnRequest]:
    qs = ReturnRequest.objects.for_tenant(tenant)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    if state:
        qs = qs.filter(state__in=state.split(","))
    return _detailed(qs)


def return_find_by_scan(*, tenant: Any, code: str, warehouse_id: int) -> ReturnRequest | None:
    """What a scan at a warehouse's receiving page names: an RMA number (any case) or the return
    label's tracking number, of a return coming back to this warehouse (or to no warehouse yet)."""
    code = code.strip()
    if not code:
        return None
    return (
        ReturnRequest.objects.for_tenant(tenant)
        .filter(Q(rma_number__iexact=code) | Q(tracking_number=code))
        .filter(Q(warehouse_id=warehouse_id) | Q(warehouse__isnull=True))
        .order_by("-pk")
        .first()
    )


def returns_expected(*, tenant: Any, warehouse_id: int, limit: int = 50) -> list[ReturnRequest]:
    """Authorized returns on their way to this warehouse (or being received), oldest first."""
    return list(
        ReturnRequest.objects.for_tenant(tenant)
        .filter(state__in=RECEIVABLE)
        .filter(Q(warehouse_id=warehouse_id) | Q(warehouse__isnull=True))
        .select_related("order")
        .annotate(units=Sum("lines__quantity"))
        .order_by("created_at", "pk")[:limit]
    )


@dataclass(frozen=True)
class ReturnRateRow:
    sku: str
    name: str
    shipped: int
    returned: int  # units asked back (open, received or resolved returns; not rejected or cancelled)
    by_reason: dict[str, int]

    @property
    def rate(self) -> float:
        return self.returned / self.shipped if self.shipped else 0.0


COUNTED = [s for s in ReturnState.values if s not in (ReturnState.REJECTED, ReturnState.CANCELLED)]


def return_rate_report(*, tenant: Any, days: int = 90, now: dt.datetime | None = None) -> list[ReturnRateRow]:
    """Per SKU: units shipped on orders placed in the last `days` days, units of those orders asked
    back, and why; highest return rate first."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    shipped = dict(
        OrderLine.objects.for_tenant(tenant)
        .filter(order__placed_at__gte=since, quantity_shipped__gt=0)
        .values("sku__code")
        .annotate(units=Sum("quantity_shipped"))
        .values_list("sku__code", "units")
    )
    names = dict(
        OrderLine.objects.for_tenant(tenant)
        .filter(order__placed_at__gte=since)
        .values_list("sku__code", "sku__name")
        .distinct()
    )
    reasons: dict[str, dict[str, int]] = {}
    for row in (
        ReturnLine.objects.for_tenant(tenant)
        .filter(return_request__state__in=COUNTED, order_line__order__placed_at__gte=since)
        .values("sku__code", "reason")
        .annotate(units=Sum("quantity"), returns=Count("return_request", distinct=True))
        .order_by()
    ):
        reasons.setdefault(row["sku__code"], {})[row["reason"]] = int(row["units"] or 0)
    rows = [
        ReturnRateRow(
            sku=code,
            name=names.get(code, ""),
            shipped=int(units or 0),
            returned=sum(reasons.get(code, {}).values()),
            by_reason={ReturnReason(r).label: n for r, n in sorted(reasons.get(code, {}).items())},
        )
        for code, units in shipped.items()
    ]
    return sorted(rows, key=lambda r: (-r.rate, -r.returned, r.sku))
