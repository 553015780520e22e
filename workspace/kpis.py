"""The dashboard's figures for one tenant, in a fixed number of queries (docs/dashboard.md).

Every query is scoped to the tenant and aggregates in the database; none loops over orders.
Windows are calendar days in the site's time zone: "today" since local midnight, "7 days" today
and the six days before, "30 days" today and the 29 before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import Label, Shipment
from fulfillment.states import LabelState
from inventory.models import SKU, StockLevel
from orders.models import Order, OrderEvent, OrderLine
from orders.states import OrderState
from returns.models import ReturnLine
from returns.selectors import COUNTED, ReturnRateRow
from returns.states import ReturnReason
from workspace.links import changelist
from workspace.sql import EpochSeconds, percentiles

SHIPPED_STATES = [OrderState.SHIPPED, OrderState.DELIVERED, OrderState.COMPLETED]
WAITED_STATES = [OrderState.BACKORDERED, OrderState.PARTIALLY_ALLOCATED]
WINDOW_DAYS = 30


@dataclass
class Windows:
    now: dt.datetime
    today: dt.datetime
    week: dt.datetime
    month: dt.datetime

    @classmethod
    def at(cls, now: dt.datetime | None = None) -> Windows:
        now = timezone.localtime(now or timezone.now())
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(
            now=now,
            today=midnight,
            week=midnight - dt.timedelta(days=6),
            month=midnight - dt.timedelta(days=WINDOW_DAYS - 1),
        )


@dataclass
class CountRow:
    key: str
    label: str
    today: int = 0
    week: int = 0
    month: int = 0
    links: dict[str, str] = field(default_factory=dict)


def percent(part: float, whole: float) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


# --- orders placed ------------------------------------------------------------------------------
def orders_placed(tenant: Any, w: Windows) -> dict[str, Any]:
    """Orders placed today / 7 / 30 days, by channel and by state (one query), and per day (one)."""
    rows = (
        Order.objects.for_tenant(tenant)
        .filter(placed_at__gte=w.month)
        .values("channel", "state")
        .annotate(
            today=Count("pk", filter=Q(placed_at__gte=w.today)),
            week=Count("pk", filter=Q(placed_at__gte=w.week)),
            month=Count("pk"),
        )
        .order_by()
    )
    labels = dict(OrderState.choices)
    by_channel: dict[str, CountRow] = {}
    by_state: dict[str, CountRow] = {}
    total = CountRow("all", "All channels")
    for row in rows:
        for key, label, table in (
            ("channel", row["channel"], by_channel),
            ("state", labels.get(row["state"], row["state"]), by_state),
        ):
            target = table.setdefault(row[key], CountRow(row[key], label))
            target.today += row["today"]
            target.week += row["week"]
            target.month += row["month"]
        total.today += row["today"]
        total.week += row["week"]
        total.month += row["month"]
    for key, table in (("channel", by_channel), ("state", by_state)):
        for row in table.values():
            row.links = _window_links(w, **{key: row.key})
    total.links = _window_links(w)
    days = dict(
        Order.objects.for_tenant(tenant)
        .filter(placed_at__gte=w.month)
        .annotate(day=TruncDate("placed_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "n")
    )
    first = w.month.date()
    daily = [
        (first + dt.timedelta(days=i), days.get(first + dt.timedelta(days=i), 0)) for i in range(WINDOW_DAYS)
    ]
    return {
        "by_channel": sorted(by_channel.values(), key=lambda r: (-r.month, r.key)),
        "by_state": sorted(by_state.values(), key=lambda r: (-r.month, r.key)),
        "total": total,
        "daily": daily,
    }


def day_link(day: dt.date) -> str:
    """The order list of the orders placed on `day` (site time zone)."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return changelist(
        "orders.order", placed_at__gte=str(start), placed_at__lt=str(start + dt.timedelta(days=1))
    )


def _window_links(w: Windows, **filters: str) -> dict[str, str]:
    return {
        name: changelist("orders.order", placed_at__gte=str(since), **filters)
        for name, since in (("today", w.today), ("week", w.week), ("month", w.month))
    }


# --- cycle time, fill rate, backorders --------------------------------------------------------
def cycle_time(tenant: Any, w: Windows) -> dict[str, Any]:
    """Hours from placed to the last shipment's shipped_at, over orders placed in the window and
    shipped in full (shipped, delivered or completed): p50 and p90, in one query."""
    shipped = (
        Order.objects.for_tenant(tenant)
        .filter(placed_at__gte=w.month, state__in=SHIPPED_STATES)
        .annotate(last_shipped=Max("shipments__shipped_at"))
        .filter(last_shipped__isnull=False)
    )
    seconds = EpochSeconds(F("last_shipped")) - EpochSeconds(F("placed_at"))
    p50, p90 = percentiles(shipped, seconds, [0.5, 0.9])
    return {
        "p50_hours": None if p50 is None else round(p50 / 3600, 1),
        "p90_hours": None if p90 is None else round(p90 / 3600, 1),
        "link": changelist("orders.order", placed_at__gte=str(w.month), state__in=",".join(SHIPPED_STATES)),
    }


def fill_rate(tenant: Any, w: Windows) -> dict[str, Any]:
    """Units shipped on orders that never waited for stock / units ordered (orders placed in the
    window, cancelled ones left out). An order "waited" when its timeline records a move into
    backordered or partially allocated: its first allocation did not cover it. (`NOT IN` an
    uncorrelated subquery: PostgreSQL hashes it once instead of probing per line.)"""
    waited = OrderEvent.objects.for_tenant(tenant).filter(to_state__in=WAITED_STATES).values("order_id")
    found = (
        OrderLine.objects.for_tenant(tenant)
        .filter(order__placed_at__gte=w.month)
        .exclude(order__state=OrderState.CANCELLED)
        .aggregate(
            ordered=Sum("quantity"),
            shipped=Sum("quantity_shipped"),
            first_pass=Sum("quantity_shipped", filter=~Q(order_id__in=waited)),
        )
    )
    ordered, first_pass = found["ordered"] or 0, found["first_pass"] or 0
    return {
        "ordered": ordered,
        "shipped": found["shipped"] or 0,
        "first_pass": first_pass,
        "rate": percent(first_pass, ordered),
        "link": changelist("orders.order", placed_at__gte=str(w.month)),
    }


def backorders(tenant: Any) -> dict[str, Any]:
    """Orders waiting for stock now, and the units they are short (one query)."""
    found = (
        OrderLine.objects.for_tenant(tenant)
        .filter(order__state__in=WAITED_STATES)
        .aggregate(
            backordered=Count("order", distinct=True, filter=Q(order__state=OrderState.BACKORDERED)),
            partial=Count("order", distinct=True, filter=Q(order__state=OrderState.PARTIALLY_ALLOCATED)),
            units_short=Sum(F("quantity") - F("quantity_allocated") - F("quantity_shipped")),
        )
    )
    return {
        "backordered": found["backordered"],
        "partial": found["partial"],
        "units_short": found["units_short"] or 0,
        "backordered_link": changelist("orders.order", state=OrderState.BACKORDERED),
        "partial_link": changelist("orders.order", state=OrderState.PARTIALLY_ALLOCATED),
    }


# --- stock --------------------------------------------------------------------------------------
def stock(tenant: Any) -> dict[str, Any]:
    """Stock rows out (available ≤ 0) and low (available ≤ reorder point, out included), as the
    stock-level list's "stock" filter selects them; available = on hand − allocated − reserved."""
    found = (
        StockLevel.objects.for_tenant(tenant)
        .annotate(free=F("on_hand") - F("allocated") - F("reserved"))
        .aggregate(
            rows=Count("pk"),
            out=Count("pk", filter=Q(free__lte=0)),
            low=Count("pk", filter=Q(free__lte=F("reorder_point"))),
        )
    )
    return {
        **found,
        "out_link": changelist("inventory.stocklevel", stock="out"),
        "low_link": changelist("inventory.stocklevel", stock="low"),
    }


# --- shipping -----------------------------------------------------------------------------------
def on_time(tenant: Any, w: Windows) -> dict[str, Any]:
    """Shipments shipped in the window that carry a promised date: on time when the day they
    shipped (site time zone) is on or before it."""
    found = (
        Shipment.objects.for_tenant(tenant)
        .filter(shipped_at__gte=w.month)
        .annotate(day=TruncDate("shipped_at"))
        .aggregate(
            shipped=Count("pk"),
            promised=Count("pk", filter=Q(promised_date__isnull=False)),
            on_time=Count("pk", filter=Q(promised_date__isnull=False, day__lte=F("promised_date"))),
        )
    )
    return {
        **found,
        "rate": percent(found["on_time"], found["promised"]),
        "link": changelist(
            "fulfillment.shipment", shipped_at__gte=str(w.month), promised_date__isnull="False"
        ),
    }


def shipping_cost(tenant: Any, w: Windows) -> dict[str, Any]:
    """Purchased outbound labels of shipments shipped in the window, per currency: their total
    and the orders they shipped; cost per order = total / orders."""
    rows = (
        Label.objects.for_tenant(tenant)
        .filter(is_return=False, state=LabelState.PURCHASED, shipment__shipped_at__gte=w.month)
        .values("currency")
        .annotate(total=Sum("amount"), orders=Count("shipment__order", distinct=True))
        .order_by("currency")
    )
    cents = Decimal("0.01")
    per_currency = [
        {
            "currency": row["currency"] or "—",
            "total": row["total"] or Decimal(0),
            "orders": row["orders"],
            "per_order": ((row["total"] or Decimal(0)) / row["orders"]).quantize(cents, ROUND_HALF_UP)
            if row["orders"]
            else None,
        }
        for row in rows
    ]
    return {
        "per_currency": per_currency,
        "link": changelist("fulfillment.shipment", shipped_at__gte=str(w.month)),
    }


# --- returns ------------------------------------------------------------------------------------
def returns(tenant: Any, w: Windows) -> dict[str, Any]:
    """Return rate by SKU and by reason over orders placed in the window: units asked back
    (returns not rejected or cancelled) / units shipped, as the returns report counts them
    (returns.selectors.return_rate_report), in three grouped queries on SKU ids."""
    shipped_by_sku = dict(
        OrderLine.objects.for_tenant(tenant)
        .filter(order__placed_at__gte=w.month, quantity_shipped__gt=0)
        .values("sku_id")
        .annotate(units=Sum("quantity_shipped"))
        .order_by()
        .values_list("sku_id", "units")
    )
    asked: dict[int, dict[str, int]] = {}
    for row in (
        ReturnLine.objects.for_tenant(tenant)
        .filter(return_request__state__in=COUNTED, order_line__order__placed_at__gte=w.month)
        .values("sku_id", "reason")
        .annotate(units=Sum("quantity"))
        .order_by()
    ):
        asked.setdefault(row["sku_id"], {})[row["reason"]] = int(row["units"] or 0)
    skus = {
        pk: (code, name)
        for pk, code, name in SKU.objects.for_tenant(tenant)
        .filter(pk__in=list(asked))
        .values_list("pk", "code", "name")
    }
    labels = dict(ReturnReason.choices)
    rows = [
        ReturnRateRow(
            sku=skus.get(pk, ("", ""))[0],
            name=skus.get(pk, ("", ""))[1],
            shipped=int(shipped_by_sku.get(pk) or 0),
            returned=sum(reasons.values()),
            by_reason={labels.get(r, r): n for r, n in sorted(reasons.items())},
        )
        for pk, reasons in asked.items()
    ]
    rows.sort(key=lambda r: (-r.rate, -r.returned, r.sku))
    shipped = sum(int(v or 0) for v in shipped_by_sku.values())
    returned = sum(r.returned for r in rows)
    by_reason: dict[str, int] = {}
    for row in rows:
        for reason, units in row.by_reason.items():
            by_reason[reason] = by_reason.get(reason, 0) + units
    return {
        "shipped": shipped,
        "returned": returned,
        "rate": percent(returned, shipped),
        "by_sku": rows[:10],
        "by_reason": sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])),
        "link": f"{reverse('admin:returns_returnrequest_report')}?days={WINDOW_DAYS}",
    }


def dashboard(tenant: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    w = Windows.at(now)
    return {
        "windows": w,
        "orders": orders_placed(tenant, w),
        "cycle": cycle_time(tenant, w),
        "fill": fill_rate(tenant, w),
        "backorders": backorders(tenant),
        "stock": stock(tenant),
        "on_time": on_time(tenant, w),
        "shipping_cost": shipping_cost(tenant, w),
        "returns": returns(tenant, w),
    }
