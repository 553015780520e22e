"""The order page of the storefront API, rendered from plain rows (the list: render_list.py).

`OrderListOutputSerializer` and `OrderOutputSerializer` say what an order looks like (and the
OpenAPI schema is built from them); this module and render_list.py write the same JSON for
the two hot reads without building the serializer trees or a model instance per row:

- `order_json(tenant=, order_id=)`: the order page. On PostgreSQL in one statement, whatever
  the order's size (`_order_sql`): the order with its customer and addresses, its lines with
  their SKU codes and allocations, its active holds and its payments as JSON arrays, and whether
  it has shipments at all; prepared once its connection has run it a few times, so PostgreSQL
  does not plan it per request (oms.core.prepared). Only an order with shipments (rows of
  the room that owns them, or shipments recorded on the order) reads them, as that room renders
  them (orders/api/shipments.py), at what that room's `fetch` costs. Elsewhere (SQLite), and as
  the reference the statement is held to, `order_json_orm`: four small ORM reads, then the
  shipments.

Decimals, timestamps and dates print exactly as DRF's fields print them (through those
fields, but for the two usual cases, spelled out: an amount with its two places, a time with
its zone; PostgreSQL writes the statement's amounts as text, numeric's text keeping its two
places). tests/orders/api/test_read_lean.py compares the renderings (the serializers', the
statement's and the ORM's) for orders in every state (holds, payments, shipments, returns,
allocations); test_read_cost.py counts the statements, test_read_prepared.py the preparing.
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone
from rest_framework import serializers

from inventory.models import SKU, Warehouse
from oms.core.prepared import server_bound_cursor
from orders.api.serializers import AddressOutputSerializer, OrderOutputSerializer
from orders.api.shipments import order_shipments_view
from orders.models import Address, Allocation, Customer, Hold, Order, OrderEvent, OrderLine, Payment
from orders.states import OrderEventType, OrderState

_MONEY = serializers.DecimalField(max_digits=12, decimal_places=2)
_TIME = serializers.DateTimeField()
_DATE = serializers.DateField()
_ADDRESS = tuple(AddressOutputSerializer._declared_fields)


def money_text(value: Any) -> str | None:
    """DRF's DecimalField(decimal_places=2); an amount read from the database already has its two
    places, and then prints as it is."""
    if value is None:
        return None
    if isinstance(value, Decimal) and value.as_tuple().exponent == -2:
        return f"{value:f}"
    return _MONEY.to_representation(value)


def time_text(value: Any, tz: tzinfo | None = None) -> str | None:
    """DRF's DateTimeField: in the current time zone (`tz`, when the caller looked it up once for
    many values), ISO 8601, UTC written `Z`."""
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        return _TIME.to_representation(value)
    text = value.astimezone(tz or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- the order page -----------------------------------------------------------------------
def order_json(*, tenant: Any, order_id: Any) -> dict[str, Any]:
    """`OrderOutputSerializer(order_get(tenant=, order_id=)).data`; another tenant's id, or none:
    Order.DoesNotExist (404). On PostgreSQL one statement (`_order_sql`), else `order_json_orm`."""
    if connection.vendor == "postgresql":
        return _order_json_sql(tenant_pk(tenant), int(order_id))
    return order_json_orm(tenant=tenant, order_id=order_id)


def tenant_pk(tenant: Any) -> int:
    return tenant if isinstance(tenant, int) else int(tenant.pk)


def _address(address: Any) -> dict[str, str] | None:
    if address is None:
        return None
    return {name: str(getattr(address, name)) for name in _ADDRESS}


def _backordered(cancelled: bool, quantity: int, allocated: int, shipped: int) -> int:
    return 0 if cancelled else max(quantity - allocated - shipped, 0)  # a cancelled order waits for nothing


def _shipments(order: Order) -> list[Any]:
    view = order_shipments_view()
    shipments = list(view.fetch(order))
    if not shipments:
        return []
    return list(view.serializer(shipments, many=True).data)


# The reference: the ORM, four small reads whatever the order's size, then the shipments.
def order_json_orm(*, tenant: Any, order_id: Any) -> dict[str, Any]:
    """What `order_json` answers, read through the ORM: the order with its customer and
    addresses; its lines with their SKU codes and their allocations with the warehouse codes (one
    row per allocation); its active holds; its payments; then its shipments as the room that owns
    them reads them. SQLite's path, and what tests/orders/api/test_read_lean.py compares the
    PostgreSQL statement with."""
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
        "subtotal": money_text(order.subtotal),
        "shipping_price": money_text(order.shipping_price),
        "tax": money_text(order.tax),
        "discount": money_text(order.discount),
        "total": money_text(order.total),
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
        "placed_at": time_text(order.placed_at),
        "created_at": time_text(order.created_at),
        "updated_at": time_text(order.updated_at),
    }


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
    cancelled = order.state == OrderState.CANCELLED
    lines: dict[int, dict[str, Any]] = {}
    for pk, sku, quantity, price, tax, allocated, shipped, returned, warehouse, held in rows:
        line = lines.get(pk)
        if line is None:
            line = lines[pk] = {
                "id": str(pk),
                "sku": str(sku),
                "quantity": int(quantity),
                "unit_price": money_text(price),
                "tax": money_text(tax),
                "allocated": int(allocated),
                "backordered": _backordered(cancelled, quantity, allocated, shipped),
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
    return [
        {"kind": str(kind), "reason": str(reason), "created_at": time_text(at)} for kind, reason, at in rows
    ]


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
            "amount": money_text(authorized),
            "captured": money_text(captured),
            "refunded": money_text(refunded),
        }
        for pk, provider, state, authorized, captured, refunded in rows
    ]


# PostgreSQL: the order page in one statement.
def qn(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _order_sql(rows_sql: str) -> str:
    """The order with its customer and addresses joined; its active holds, its payments and its
    lines (each with its allocations) as JSON arrays of arrays, in the order the ORM reads them;
    whether shipments were recorded on it; and whether the room that owns shipment rows holds any
    for it (`rows_sql`, its EXISTS subquery over the order `o`; orders/api/shipments.py). Amounts
    travel as text (numeric's text keeps its two places), the holds' times as ISO 8601. Every join
    and subquery is on the tenant too, as the composite keys are (docs/scaling.md)."""
    t = {m.__name__: qn(m._meta.db_table) for m in (Order, Customer, Address, Hold, Payment, OrderLine)}
    allocation, event = qn(Allocation._meta.db_table), qn(OrderEvent._meta.db_table)
    sku, warehouse = qn(SKU._meta.db_table), qn(Warehouse._meta.db_table)
    address = ", ".join(f"s.{qn(name)}" for name in _ADDRESS)
    bill_to = ", ".join(f"b.{qn(name)}" for name in _ADDRESS)
    return f"""
    SELECT o.id, o.number, o.channel, o.external_id, o.state, o.currency, o.subtotal::text,
        o.shipping_price::text, o.tax::text, o.discount::text, o.total::text, c.email, c.name,
        {address}, b.id IS NOT NULL, {bill_to}, o.service_level,
        o.allocation_plan ->> 'strategy', o.allocation_plan ->> 'explanation', o.promise_date,
        o.cancel_reason, o.placed_at, o.created_at, o.updated_at,
        (SELECT json_agg(json_build_array(h.kind, h.reason, h.created_at) ORDER BY h.id)
            FROM {t["Hold"]} h
            WHERE h.tenant_id = o.tenant_id AND h.order_id = o.id AND h.released_at IS NULL),
        (SELECT json_agg(json_build_array(p.id, p.provider, p.state, p.amount_authorized::text,
                p.amount_captured::text, p.amount_refunded::text) ORDER BY p.id)
            FROM {t["Payment"]} p WHERE p.tenant_id = o.tenant_id AND p.order_id = o.id),
        (SELECT json_agg(json_build_array(l.id, k.code, l.quantity, l.unit_price::text, l.tax::text,
                l.quantity_allocated, l.quantity_shipped, l.quantity_returned,
                (SELECT json_agg(json_build_array(w.code, a.quantity) ORDER BY a.id)
                    FROM {allocation} a
                    JOIN {warehouse} w ON w.tenant_id = a.tenant_id AND w.id = a.warehouse_id
                    WHERE a.tenant_id = l.tenant_id AND a.order_line_id = l.id)
            ) ORDER BY l.position, l.id)
            FROM {t["OrderLine"]} l JOIN {sku} k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id
            WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id),
        EXISTS (SELECT 1 FROM {event} e
            WHERE e.tenant_id = o.tenant_id AND e.order_id = o.id AND e.type = %s),
        {f"EXISTS ({rows_sql})" if rows_sql else "FALSE"}
    FROM {t["Order"]} o
    JOIN {t["Customer"]} c ON c.tenant_id = o.tenant_id AND c.id = o.customer_id
    JOIN {t["Address"]} s ON s.tenant_id = o.tenant_id AND s.id = o.ship_to_id
    LEFT JOIN {t["Address"]} b ON b.tenant_id = o.tenant_id AND b.id = o.bill_to_id
    WHERE o.tenant_id = %s AND o.id = %s"""


def _json(value: Any) -> list[Any]:
    """A json_agg column: psycopg loads `json` itself; NULL (no rows) is an empty list."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


def _order_json_sql(tenant_id: int, order_id: int) -> dict[str, Any]:
    view = order_shipments_view()
    with server_bound_cursor() as cursor:
        cursor.execute(_order_sql(view.rows_sql), [OrderEventType.SHIPMENT.value, tenant_id, order_id])
        row = cursor.fetchone()
    if row is None:
        raise Order.DoesNotExist("Order matching query does not exist.")
    n = len(_ADDRESS)
    pk, number, channel, external_id, state, currency, subtotal, shipping, tax, discount, total = row[:11]
    email, name = row[11:13]
    ship_to = dict(zip(_ADDRESS, row[13 : 13 + n], strict=True))
    has_bill_to = row[13 + n]
    bill_to = dict(zip(_ADDRESS, row[14 + n : 14 + 2 * n], strict=True)) if has_bill_to else None
    (service_level, strategy, explanation, promise_date, cancel_reason, placed_at, created_at, updated_at) = (
        row[14 + 2 * n : 22 + 2 * n]
    )
    holds, payments, lines, recorded, shipment_rows = row[22 + 2 * n :]
    tz = timezone.get_current_timezone()
    cancelled = state == OrderState.CANCELLED
    shipments: list[Any] = []
    if recorded or shipment_rows:  # else the room that owns shipments would find none
        shipments = _shipments(Order(pk=pk, tenant_id=tenant_id))
    return {
        "id": str(pk),
        "number": number,
        "channel": channel,
        "external_id": external_id,
        "state": state,
        "holds": [
            {"kind": kind, "reason": reason, "created_at": time_text(datetime.fromisoformat(at), tz)}
            for kind, reason, at in _json(holds)
        ],
        "currency": currency,
        "subtotal": subtotal,
        "shipping_price": shipping,
        "tax": tax,
        "discount": discount,
        "total": total,
        "customer": {"email": email, "name": name},
        "ship_to": ship_to,
        "bill_to": bill_to,
        "service_level": service_level,
        "lines": [
            {
                "id": str(line_id),
                "sku": sku,
                "quantity": quantity,
                "unit_price": price,
                "tax": line_tax,
                "allocated": allocated,
                "backordered": _backordered(cancelled, quantity, allocated, shipped),
                "shipped": shipped,
                "returned": returned,
                "allocations": [
                    {"warehouse": warehouse, "quantity": held} for warehouse, held in allocations or ()
                ],
            }
            for line_id, sku, quantity, price, line_tax, allocated, shipped, returned, allocations in _json(
                lines
            )
        ],
        "allocation_plan": {"strategy": strategy or "", "explanation": explanation or ""},
        "promise_date": None if promise_date is None else promise_date.isoformat(),
        "payments": [
            {
                "id": str(payment_id),
                "provider": provider,
                "state": payment_state,
                "amount": authorized,
                "captured": captured,
                "refunded": refunded,
            }
            for payment_id, provider, payment_state, authorized, captured, refunded in _json(payments)
        ],
        "shipments": shipments,
        "cancel_reason": cancel_reason,
        "placed_at": time_text(placed_at, tz),
        "created_at": time_text(created_at, tz),
        "updated_at": time_text(updated_at, tz),
    }


# What the two renderings write, in the serializers' order (test_read_lean.py holds them to it).
ORDER_FIELDS = tuple(OrderOutputSerializer._declared_fields)
