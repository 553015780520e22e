"""Who may return what, and until when: the tenant's policy, the return window, the quantity cap.

- The window runs `ReturnPolicy.window_days` calendar days (in the site's time zone) from the
  day the goods reached the customer: the delivery date of each parcel of the order, or its
  ship date when the carrier never reported a delivery; an order shipped in several parcels
  counts from the last one. An order recorded shipped without shipment rows (a marketplace's
  or a 3PL's) counts from the order's own shipped/delivered event. Day 30 of a 30-day window
  is inside; day 31 is `outside_return_window`.
- A line may return at most what shipped minus what other returns claim: the requested
  quantity of every return not yet inspected (rejected and cancelled ones claim nothing), the
  received quantity of those inspected and later. The callers hold the order's lock and its
  lines' locks while they count (returns/locks.py), so two requests for the last unit queue.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from fulfillment.models import Shipment
from fulfillment.states import ShipmentState
from orders.models import Order, OrderEvent
from orders.states import OrderEventType, OrderState
from returns.models import ReturnLine, ReturnPolicy
from returns.states import CLAIMS_RECEIVED, CLAIMS_REQUESTED

SHIPPED_STATES = (
    OrderState.PARTIALLY_SHIPPED,
    OrderState.SHIPPED,
    OrderState.DELIVERED,
    OrderState.COMPLETED,
)


def return_policy(tenant: Any) -> ReturnPolicy:
    """The tenant's policy, made with the defaults on first use."""
    policy = ReturnPolicy.objects.for_tenant(tenant).first()
    if policy is not None:
        return policy
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    try:
        with transaction.atomic():
            return ReturnPolicy.objects.create(tenant_id=tenant_id)
    except IntegrityError:  # made beside us
        return ReturnPolicy.objects.for_tenant(tenant).get()


def window_start(order: Order) -> dt.datetime | None:
    """When the goods reached the customer, as far as we know (see the module's rule)."""
    dates = [
        delivered or shipped
        for delivered, shipped in Shipment.objects.for_tenant(order.tenant_id)
        .filter(order=order)
        .exclude(state=ShipmentState.CANCELLED)
        .values_list("delivered_at", "shipped_at")
        if delivered or shipped
    ]
    if dates:
        return max(dates)
    event = (
        OrderEvent.objects.for_tenant(order.tenant_id)
        .filter(order=order, type=OrderEventType.TRANSITION, to_state__in=SHIPPED_STATES)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return event


def window_days_used(start: dt.datetime, now: dt.datetime | None = None) -> int:
    """Calendar days since `start`, in the site's time zone: 0 on the day itself."""
    now = now or timezone.now()
    return (timezone.localdate(now) - timezone.localdate(start)).days


def window_last_day(start: dt.datetime, window_days: int) -> dt.date:
    return timezone.localdate(start) + dt.timedelta(days=window_days)


def claimed_units(
    *, tenant: Any, order_line_ids: Iterable[int], exclude_return: int | None = None
) -> dict[int, int]:
    """Units of each order line that returns already claim (see the module's rule)."""
    ids = sorted(set(order_line_ids))
    claimed: dict[int, int] = defaultdict(int)
    lines = ReturnLine.objects.for_tenant(tenant).filter(order_line_id__in=ids)
    if exclude_return is not None:
        lines = lines.exclude(return_request_id=exclude_return)
    requested = (
        lines.filter(return_request__state__in=CLAIMS_REQUESTED)
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
    )
    received = (
        lines.filter(return_request__state__in=CLAIMS_RECEIVED)
        .values("order_line_id")
        .annotate(units=Sum("quantity_received"))
    )
    for row in [*requested, *received]:
        claimed[row["order_line_id"]] += int(row["units"] or 0)
    return dict(claimed)
