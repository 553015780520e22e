"""What the processes count as they work, for GET /metrics (Prometheus; docs/deploy.md).

The rooms call these one-liners where the work happens: an order placed, an allocation timed,
a vendor's error classified. Every web worker and every Celery pool process writes its own
file under `PROMETHEUS_MULTIPROC_DIR` (settings; prometheus_client's multiprocess mode), and
a scrape adds them up (oms/metrics/exposition.py), so the figures are the node's, whichever
process answers the scrape.

Labels are bounded on purpose: no tenant id (metrics are per installation; a tenant's numbers
are in its dashboard), a channel outside METRICS_ORDER_CHANNELS counts as "other", vendors
and kinds are names in our code, never text from outside.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from prometheus_client import Counter, Histogram

ORDERS_PLACED = Counter(
    "oms_orders_placed",
    "Orders placed (committed), by channel.",
    ["channel"],
)
ALLOCATION_SECONDS = Histogram(
    "oms_allocation_duration_seconds",
    "Time the allocation engine took for one order: locked (lock, plan, write) or planned "
    "(the placement's optimistic plan, read without locks).",
    ["path"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
F = TypeVar("F", bound=Callable[..., Any])

VENDOR_ERRORS = Counter(
    "oms_vendor_errors",
    "Errors answered by (or on the way to) a vendor's API, by vendor and kind.",
    ["vendor", "kind"],
)


class VendorErrorKind(StrEnum):
    UNREACHABLE = "unreachable"  # connection error or timeout: the outcome is unknown
    THROTTLED = "throttled"  # 429, or the vendor's own throttling answer
    SERVER_ERROR = "server_error"  # 5xx
    CONFLICT = "conflict"  # 409 (a request with the same idempotency key still in flight)
    REFUSED = "refused"  # other 4xx: the vendor said no to this request
    DECLINED = "declined"  # a payment the card's issuer declined
    UNREADABLE = "unreadable"  # an answer we could not read


def order_placed_on_commit(*, channel: str) -> None:
    """Count an order once the transaction that placed it commits (a rolled-back try is no order)."""
    label = channel if channel in settings.METRICS_ORDER_CHANNELS else "other"
    transaction.on_commit(lambda: ORDERS_PLACED.labels(channel=label).inc())


def allocation_timed(path: str) -> Callable[[F], F]:
    """Decorates the allocation engine's entry points: each call's duration goes to the histogram.

    The labelled series is looked up at the first call, not at import: a process that never
    allocates (a management command) writes no metrics file.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                ALLOCATION_SECONDS.labels(path=path).observe(time.perf_counter() - started)

        return timed  # type: ignore[return-value]

    return decorate


def vendor_error(vendor: str, kind: VendorErrorKind) -> None:
    VENDOR_ERRORS.labels(vendor=vendor.lower(), kind=kind.value).inc()


def vendor_http_error_kind(status: int) -> VendorErrorKind:
    """The kind of an HTTP error status (0: no answer)."""
    if status == 0:
        return VendorErrorKind.UNREACHABLE
    if status == 429:
        return VendorErrorKind.THROTTLED
    if status == 409:
        return VendorErrorKind.CONFLICT
    if status >= 500:
        return VendorErrorKind.SERVER_ERROR
    return VendorErrorKind.REFUSED
