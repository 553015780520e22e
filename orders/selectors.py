"""Order reads. Every selector takes the tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from inventory.models import SKU
from orders.models import Allocation, Customer, Hold, Order, OrderEvent, OrderLine, Payment
from orders.states import OrderEventType


def order_detail_queryset(tenant: Any) -> QuerySet[Order]:
    return (
        Order.objects.for_tenant(tenant)
        .select_related("customer", "ship_to", "bill_to")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.for_tenant(tenant)
                .select_related("sku")
                .prefetch_related(
                    Prefetch(
                        "allocations",
                        queryset=Allocation.objects.for_tenant(tenant)
                        .select_related("warehouse")
                        .order_by("pk"),  # in the order they were made
                    )
                ),
            ),
            Prefetch("holds", queryset=Hold.objects.for_tenant(tenant).order_by("pk")),  # oldest first
            Prefetch("payments", queryset=Payment.objects.for_tenant(tenant).order_by("pk")),
        )
    )


def order_get(*, tenant: Any, order_id: Any) -> Order:
    return order_detail_queryset(tenant).get(pk=order_id)


def order_list(
    *,
    tenant: Any,
    state: str | None = None,
    channel: str | None = None,
    email: str | None = None,
    sku: str | None = None,
    external_id: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[Order]:
    qs = Order.objects.for_tenant(tenant).select_related("customer")
    if state:
        qs = qs.filter(state__in=state.split(","))
    if channel:
        qs = qs.filter(channel=channel)
    if email:
        # The tenant's customer by (tenant, email), its unique key: the join alone would read every
        # customer row of every tenant to find the email.
        customer = Customer.objects.for_tenant(tenant).filter(email=email.strip().lower()).values("pk")
        qs = qs.filter(customer_id__in=customer)
    if external_id:
        qs = qs.filter(external_id=external_id)
    if sku:
        # The tenant's SKU by (tenant, code), its unique key, as the email above.
        sku_ids = SKU.objects.for_tenant(tenant).filter(code=sku).values("pk")
        qs = qs.filter(
            pk__in=OrderLine.objects.for_tenant(tenant).filter(sku_id__in=sku_ids).values("order_id")
        )
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    return qs


def order_events(*, tenant: Any, order_id: Any) -> QuerySet[OrderEvent]:
    order = Order.objects.for_tenant(tenant).only("pk").get(pk=order_id)
    return OrderEvent.objects.for_tenant(tenant).filter(order=order).order_by("created_at", "pk")


def order_shipments(order: Order) -> list[dict[str, Any]]:
    """The shipments recorded against the order (`order_record_shipment`), oldest first: reference,
    carrier, tracking and lines. The room that owns shipment rows shows them in the order JSON
    (orders/api/shipments.py) and may merge these in."""
    events = OrderEvent.objects.for_tenant(order.tenant_id).filter(order=order, type=OrderEventType.SHIPMENT)
    return [
        {
            "reference": event.data.get("reference", ""),
            "carrier": event.data.get("carrier", ""),
            "tracking_number": event.data.get("tracking_number", ""),
            "shipped_at": event.created_at,
            "lines": [{"sku": x["sku"], "quantity": x["quantity"]} for x in event.data.get("lines", [])],
        }
        for event in events.order_by("created_at", "pk")
    ]
