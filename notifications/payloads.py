"""The `data` of each event type: what the merchant's systems read, in the words they use (order
numbers, SKU and warehouse codes), never a tenant id. Built from the rows at first send."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inventory.models import StockLevel
from notifications.states import EventType
from orders.models import Order
from returns.models import ReturnRequest


def _order(tenant_id: int, order_id: int) -> dict[str, Any]:
    order = Order.objects.for_tenant(tenant_id).select_related("customer", "ship_to").get(pk=order_id)
    lines = order.lines.select_related("sku").order_by("position", "pk")
    return {
        "number": order.number,
        "external_id": order.external_id,
        "channel": order.channel,
        "state": order.state,
        "currency": order.currency,
        "total": str(order.total),
        "placed_at": order.placed_at.isoformat(),
        "customer": {"email": order.customer.email, "name": order.customer.name},
        "ship_to": {
            "city": order.ship_to.city,
            "postal_code": order.ship_to.postal_code,
            "country": order.ship_to.country,
        },
        "lines": [
            {
                "sku": line.sku.code,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "allocated": line.quantity_allocated,
                "shipped": line.quantity_shipped,
            }
            for line in lines
        ],
    }


def _order_event(refs: dict[str, Any], tenant_id: int) -> dict[str, Any]:
    data: dict[str, Any] = {"order": _order(tenant_id, refs["order_id"])}
    if refs.get("reference"):
        data["shipment"] = {"reference": refs["reference"]}
    return data


def _return(tenant_id: int, return_id: int) -> dict[str, Any]:
    ret = ReturnRequest.objects.for_tenant(tenant_id).select_related("order").get(pk=return_id)
    return {
        "rma_number": ret.rma_number,
        "order_number": ret.order.number,
        "state": ret.state,
        "resolution": ret.resolution,
        "lines": [
            {
                "sku": line.sku.code,
                "quantity": line.quantity,
                "received": line.quantity_received,
                "reason": line.reason,
            }
            for line in ret.lines.select_related("sku").order_by("pk")
        ],
    }


def _return_event(refs: dict[str, Any], tenant_id: int) -> dict[str, Any]:
    data: dict[str, Any] = {"return": _return(tenant_id, refs["return_id"])}
    if "amount" in refs:
        data["refund"] = {"amount": refs["amount"], "currency": refs.get("currency", "")}
    return data


def _stock_event(refs: dict[str, Any], tenant_id: int) -> dict[str, Any]:
    level = (
        StockLevel.objects.for_tenant(tenant_id)
        .select_related("sku", "warehouse")
        .get(pk=refs["stock_level_id"])
    )
    return {
        "sku": level.sku.code,
        "warehouse": level.warehouse.code,
        "on_hand": level.on_hand,
        "available": level.available,
        "reorder_point": level.reorder_point,
    }


BUILDERS: dict[str, Callable[[dict[str, Any], int], dict[str, Any]]] = {
    EventType.ORDER_CREATED: _order_event,
    EventType.ORDER_ALLOCATED: _order_event,
    EventType.ORDER_SHIPPED: _order_event,
    EventType.ORDER_CANCELLED: _order_event,
    EventType.RETURN_RECEIVED: _return_event,
    EventType.REFUND_ISSUED: _return_event,
    EventType.STOCK_LOW: _stock_event,
}


def event_data(*, tenant_id: int, event_type: str, refs: dict[str, Any]) -> dict[str, Any]:
    return BUILDERS[event_type](refs, tenant_id)
