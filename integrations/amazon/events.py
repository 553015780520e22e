"""Polled Amazon orders, from the inbox (in a task): Amazon's order shape stops here.

Each record the poller stored (source "amazon", event type "amazon.order", the body an Orders
API v2026-01-01 `Order`) is read into a `MarketplaceOrder` by `marketplace_order_from_amazon`
and handed to `marketplace_order_ingest`, by `fulfillment.fulfillmentStatus`:

- UNSHIPPED: the order is made (or updated: a new ship-to address).
- PENDING, PENDING_AVAILABILITY: ignored. Not paid yet, and Amazon gives no address; the order
  comes in when Amazon says UNSHIPPED (a later version of the record).
- CANCELLED: our order is cancelled (flagged for staff once it has shipped); an order first seen
  cancelled makes none.
- SHIPPED, PARTIALLY_SHIPPED: an update of an order we have (our own confirmation coming back:
  no change); ignored for an order we never had (shipped outside the OMS).
- Fulfilled by Amazon, or any other status: ignored.

An order that cannot be read (no items, a quantity that is not a whole number, no street or
country...) raises `MarketplaceOrderInvalid`: the inbox keeps it failed with the reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from integrations.inbox import IGNORED
from integrations.ingest import (
    MarketplaceLine,
    MarketplaceOrder,
    MarketplaceOrderInvalid,
    marketplace_order_ingest,
)
from integrations.models import ChannelAccount, ChannelOrder, InboundEvent
from integrations.parsing import amounts_sum, as_amount, as_dict, as_moment, as_text, joined, postal_address

EVENT_TYPE = "amazon.order"
NOT_PAID = frozenset({"PENDING", "PENDING_AVAILABILITY"})
SHIPPED = frozenset({"SHIPPED", "PARTIALLY_SHIPPED"})
TAKEN = frozenset({"UNSHIPPED", "CANCELLED"}) | SHIPPED


def _money(value: Any, what: str) -> Decimal:
    """A Money object's amount (`{"amount": "12.50", "currencyCode": "USD"}`); absent is 0."""
    return as_amount(as_dict(value).get("amount"), what)


def _breakdown(proceeds: Any, kind: str, what: str) -> Decimal:
    return amounts_sum(
        as_dict(proceeds).get("breakdowns"),
        lambda b: _money(b.get("subtotal"), what) if b.get("type") == kind else Decimal("0"),
    )


def _address(data: Any) -> dict[str, str]:
    data = as_dict(data)
    return postal_address(
        name=data.get("name"),
        company=data.get("companyName"),
        line1=data.get("addressLine1"),
        line2=joined(data.get("addressLine2"), data.get("addressLine3"), sep=", "),
        city=data.get("city"),
        region=data.get("stateOrRegion"),
        postal_code=data.get("postalCode"),
        country=data.get("countryCode"),
        phone=data.get("phone"),
    )


def _line(index: int, item: Any) -> MarketplaceLine:
    if not isinstance(item, dict):
        raise MarketplaceOrderInvalid(f"orderItems[{index}] is not an object")
    quantity = item.get("quantityOrdered")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise MarketplaceOrderInvalid(
            f"orderItems[{index}].quantityOrdered {quantity!r} is not a whole number"
        )
    product = as_dict(item.get("product"))
    return MarketplaceLine(
        channel_line_id=as_text(item.get("orderItemId")),
        channel_sku=as_text(product.get("sellerSku")),
        channel_variant_id="",
        channel_listing_id=as_text(product.get("asin")),
        title=as_text(product.get("title")),
        quantity=quantity,
        unit_price=_money(as_dict(product.get("price")).get("unitPrice"), f"orderItems[{index}] unitPrice"),
        tax=_breakdown(item.get("proceeds"), "TAX", f"orderItems[{index}] tax"),
    )


def _currency(order: dict[str, Any]) -> str:
    found = as_text(as_dict(as_dict(order.get("proceeds")).get("grandTotal")).get("currencyCode"))
    for item in order.get("orderItems") or []:
        if found:
            break
        unit = as_dict(as_dict(as_dict(item).get("product")).get("price")).get("unitPrice")
        found = as_text(as_dict(unit).get("currencyCode"))
    return found.upper()


def _cancel_reason(order: dict[str, Any]) -> str:
    for item in order.get("orderItems") or []:
        cancellation = as_dict(as_dict(item).get("cancellation"))
        for part in ("cancellationRequest", "cancellationExecution"):
            reason = as_text(as_dict(cancellation.get(part)).get("cancelReason"))
            if reason:
                return reason
    return ""


def marketplace_order_from_amazon(order: dict[str, Any]) -> MarketplaceOrder:
    """An Orders API v2026-01-01 Order as a MarketplaceOrder."""
    if not isinstance(order, dict) or not as_text(order.get("orderId")):
        raise MarketplaceOrderInvalid("no orderId")
    items = order.get("orderItems")
    if not isinstance(items, list):
        raise MarketplaceOrderInvalid("orderItems is not a list")
    cancelled = as_text(as_dict(order.get("fulfillment")).get("fulfillmentStatus")) == "CANCELLED"
    lines = tuple(line for line in (_line(i, item) for i, item in enumerate(items)) if line.quantity)
    currency = _currency(order)
    if not currency and not cancelled:
        raise MarketplaceOrderInvalid("no currency (proceeds.grandTotal or an item's unitPrice)")
    ship_to = _address(as_dict(order.get("recipient")).get("deliveryAddress"))
    buyer = as_dict(order.get("buyer"))
    grand_total = as_dict(order.get("proceeds")).get("grandTotal")
    shipping = sum(
        (_breakdown(as_dict(item).get("proceeds"), "SHIPPING", "shipping") for item in items), Decimal("0")
    )
    return MarketplaceOrder(
        external_id=as_text(order["orderId"]),
        name=as_text(order["orderId"]),
        currency=currency,
        customer={
            "email": as_text(buyer.get("buyerEmail")),
            "name": as_text(buyer.get("buyerName")) or ship_to["name"],
            "phone": ship_to["phone"],
        },
        ship_to=ship_to,
        lines=lines,
        shipping_price=shipping,
        total=_money(grand_total, "proceeds.grandTotal") if grand_total else None,
        placed_at=as_moment(order.get("createdTime")),
        updated_at=as_moment(order.get("lastUpdatedTime")),
        cancelled=cancelled,
        cancel_reason=_cancel_reason(order),
        extra={"marketplace_id": as_text(as_dict(order.get("salesChannel")).get("marketplaceId"))},
    )


def amazon_event_handle(event: InboundEvent, payload: Any) -> tuple[str, str]:
    """The inbox handler for source "amazon" (module doc)."""
    if event.event_type != EVENT_TYPE:
        return IGNORED, f"event type {event.event_type!r} is not used"
    if not isinstance(payload, dict):
        raise MarketplaceOrderInvalid("the record is not a JSON object")
    fulfillment = as_dict(payload.get("fulfillment"))
    status = as_text(fulfillment.get("fulfillmentStatus"))
    order_id = as_text(payload.get("orderId"))
    if as_text(fulfillment.get("fulfilledBy")) == "AMAZON":
        return IGNORED, f"order {order_id} is fulfilled by Amazon"
    if status in NOT_PAID:
        return IGNORED, f"order {order_id} is {status} (not paid yet): taken when Amazon says UNSHIPPED"
    if status not in TAKEN:
        return IGNORED, f"order {order_id} is {status or 'without a status'}: not taken"
    account = ChannelAccount.objects.for_tenant(event.tenant_id).get(pk=event.account_id)
    if (
        status in SHIPPED
        and not ChannelOrder.objects.for_tenant(event.tenant_id)
        .filter(account=account, external_id=order_id)
        .exists()
    ):
        return IGNORED, f"order {order_id} was {status} before it reached us: not taken"
    incoming = marketplace_order_from_amazon(payload)
    outcome = marketplace_order_ingest(account=account, incoming=incoming)
    return outcome.verdict, outcome.text[:200]
