"""The order list and the order page of the storefront API, rendered from plain rows.

`OrderListOutputSerializer` and `OrderOutputSerializer` say what an order looks like (and the
OpenAPI schema is built from them); this module writes the same JSON for the two hot reads
without building the serializer trees or a model instance per row:

- `order_list_page_rows(qs)`: the list's columns as `.values()` (customer email joined), for
  the cursor paginator, which reads the `id` of a dict as well as of an object; each row then
  goes through `order_list_row`.
- `order_json(tenant=, order_id=)`: the order page in four small reads, whatever its size:
  the order with its customer and addresses; its lines with their SKU codes and their
  allocations with the warehouse codes (one row per allocation); its active holds; its
  payments. Then its shipments, as the room that owns them renders them
  (orders/api/shipments.py), which costs what that room's `fetch` costs.

Decimals, timestamps and dates print exactly as DRF's fields print them (through those
fields, but for the two usual cases, spelled out: an amount with its two places, a time with
its zone). tests/orders/api/test_read_lean.py compares both renderings for orders in every
state (holds, payments, shipments, returns, allocations).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers

from orders.api.serializers import AddressOutputSerializer, OrderListOutputSerializer, OrderOutputSerializer
from orders.api.shipments import order_shipments_view
from orders.models import Hold, Order, OrderLine, Payment
from orders.states import OrderState

_MONEY = serializers.DecimalField(max_digits=12, decimal_places=2)
_TIME = serializers.DateTimeField()
_DATE = serializers.DateField()
_ADDRESS = tuple(AddressOutputSerializer._declared_fields)


def _money(value: Any) -> str | None:
    """DRF's DecimalField(decimal_places=2); an amount read from the database already has its two
    places, and then prints as it is."""
    if value is None:
        return None
    if isinstance(value, Decimal) and value.as_tuple().exponent == -2:
        return f"{value:f}"
    return _MONEY.to_representation(value)


def _time(value: Any) -> str | None:
    """DRF's DateTimeField: in the current time zone, ISO 8601, UTC written `Z`."""
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        return _TIME.to_representation(value)
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- the list -----------------------------------------------------------------------------
LIST_COLUMNS = (
    "id",
    "number",
    "channel",
    "external_id",
    "state",
    "currency",
    "total",
    "customer__email",
    "placed_at",
    "created_at",
    "updated_at",
)


def order_list_page_rows(qs: QuerySet[Order]) -> QuerySet[Order, dict[str, Any]]:
    """The columns the list shows, as dicts (what `order_list_row` renders)."""
    return qs.values(*LIST_COLUMNS)


def order_list_row(row: dict[str, Any]) -> dict[str, Any]:
    """`OrderListOutputSerializer` of one row of `order_list_page_rows`."""
    return {
        "id": str(row["id"]),
        "number": str(row["number"]),
        "channel": str(row["channel"]),
        "external_id": str(row["external_id"]),
        "state": str(row["state"]),
        "currency": str(row["currency"]),
        "total": _money(row["total"]),
        "customer_email": str(row["customer__email"]),
        "placed_at": _time(row["placed_at"]),
        "created_at": _time(row["created_at"]),
        "updated_at": _time(row["updated_at"]),
    }


# --- the order page -----------------------------------------------------------------------
def _address(address: Any) -> dict[str, str] | None:
    if address is None:
        return None
    return {name: str(getattr(address, name)) for name in _ADDRESS}


def _lines(tenant: Any, order: Order) -> list[dict[str, Any]]:
    """The lines (in their order) with their allocations (in the order they were made), in one
    read: a line with n allocations comes back as n rows, one without as one row of nulls."""
    rows = (
        OrderLine.objects.for_tenant(tenant)
        .filter(order_id=order.pk)
        .order_by("position", "id", "allocations__id")
        .values_list(
            "id",
            "sku__code",
            "quantity",
            "unit_price",
            "tax",
            "quantity_allocated",
            "quantity_shipped",
            "quantity_returned",
            "allocations__warehouse__code",
            "allocations__quantity",
        )
    )
    cancelled = order.state == OrderState.CANCELLED  # a cancelled order waits for nothing
    lines: dict[int, dict[str, Any]] = {}
    for pk, sku, quantity, price, tax, allocated, shipped, returned, warehouse, held in rows:
        line = lines.get(pk)
        if line is None:
            line = lines[pk] = {
                "id": str(pk),
                "sku": str(sku),
                "quantity": int(quantity),
                "unit_price": _money(price),
                "tax": _money(tax),
                "allocated": int(allocated),
                "backordered": 0 if cancelled else max(quantity - allocated - shipped, 0),
                "shipped": int(shipped),
                "returned": int(returned),
                "allocations": [],
            }
        if warehouse is not None:
            line["allocations"].append({"warehouse": str(warehouse), "quantity": int(held)})
    return list(lines.values())


def _holds(tenant: Any, order: Order) -> list[dict[str, Any]]:
    rows = (
        Hold.objects.for_tenant(tenant)
        .filter(order_id=order.pk, released_at__isnull=True)
        .order_by("pk")
        .values_list("kind", "reason", "created_at")
    )
    return [{"kind": str(kind), "reason": str(reason), "created_at": _time(at)} for kind, reason, at in rows]


def _payments(tenant: Any, order: Order) -> list[dict[str, Any]]:
    rows = (
        Payment.objects.for_tenant(tenant)
        .filter(order_id=order.pk)
        .order_by("pk")
        .values_list("id", "provider", "state", "amount_authorized", "amount_captured", "amount_refunded")
    )
    return [
        {
            "id": str(pk),
            "provider": str(provider),
            "state": str(state),
            "amount": _money(authorized),
            "captured": _money(captured),
            "refunded": _money(refunded),
        }
        for pk, provider, state, authorized, captured, refunded in rows
    ]


def _shipments(order: Order) -> list[Any]:
    view = order_shipments_view()
    shipments = list(view.fetch(order))
    if not shipments:
        return []
    return list(view.serializer(shipments, many=True).data)


def order_json(*, tenant: Any, order_id: Any) -> dict[str, Any]:
    """`OrderOutputSerializer(order_get(tenant=, order_id=)).data`; another tenant's id, or none:
    Order.DoesNotExist (404)."""
    order = Order.objects.for_tenant(tenant).select_related("customer", "ship_to", "bill_to").get(pk=order_id)
    plan = order.allocation_plan or {}
    return {
        "id": str(order.pk),
        "number": str(order.number),
        "channel": str(order.channel),
        "external_id": str(order.external_id),
        "state": str(order.state),
        "holds": _holds(tenant, order),
        "currency": str(order.currency),
        "subtotal": _money(order.subtotal),
        "shipping_price": _money(order.shipping_price),
        "tax": _money(order.tax),
        "discount": _money(order.discount),
        "total": _money(order.total),
        "customer": {"email": str(order.customer.email), "name": str(order.customer.name)},
        "ship_to": _address(order.ship_to),
        "bill_to": _address(order.bill_to),
        "service_level": str(order.service_level),
        "lines": _lines(tenant, order),
        "allocation_plan": {"strategy": plan.get("strategy", ""), "explanation": plan.get("explanation", "")},
        "promise_date": None if order.promise_date is None else _DATE.to_representation(order.promise_date),
        "payments": _payments(tenant, order),
        "shipments": _shipments(order),
        "cancel_reason": str(order.cancel_reason),
        "placed_at": _time(order.placed_at),
        "created_at": _time(order.created_at),
        "updated_at": _time(order.updated_at),
    }


# What the two renderings write, in the serializers' order (test_read_lean.py holds them to it).
LIST_FIELDS = tuple(OrderListOutputSerializer._declared_fields)
ORDER_FIELDS = tuple(OrderOutputSerializer._declared_fields)
