"""Processing verified Shopify deliveries (from the inbox, in a task). Shopify's shapes stop here.

orders/create, orders/updated and orders/cancelled carry the whole REST Order resource
(../shared/integrations.md 3.2); `marketplace_order_from_shopify` reads it into a
`MarketplaceOrder` and `marketplace_order_ingest` does the rest. An order that cannot be read
(no line items, a quantity that is not a number...) raises `MarketplaceOrderInvalid`: the event
is kept as failed with the reason (and dead after the inbox's attempts), never dropped.
returns/request opens a return (`integrations/shopify/returns.py`).
"""

from __future__ import annotations

from typing import Any

from integrations.inbox import IGNORED
from integrations.ingest import (
    MarketplaceLine,
    MarketplaceOrder,
    MarketplaceOrderInvalid,
    marketplace_order_ingest,
)
from integrations.models import ChannelAccount, InboundEvent
from integrations.parsing import amounts_sum, as_amount, as_moment, as_text, joined, postal_address
from integrations.shopify.returns import RETURN_TOPICS, shopify_return_open

ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled")


def _address(data: Any) -> dict[str, str]:
    if not isinstance(data, dict):
        return {}
    return postal_address(
        name=as_text(data.get("name")) or joined(data.get("first_name"), data.get("last_name")),
        company=data.get("company"),
        line1=data.get("address1"),
        line2=data.get("address2"),
        city=data.get("city"),
        region=as_text(data.get("province_code")) or as_text(data.get("province")),
        postal_code=data.get("zip"),
        country=data.get("country_code"),
        phone=data.get("phone"),
    )


def _line(index: int, item: Any) -> MarketplaceLine:
    if not isinstance(item, dict):
        raise MarketplaceOrderInvalid(f"line_items[{index}] is not an object")
    try:
        quantity = int(item.get("quantity"))
    except (TypeError, ValueError):
        raise MarketplaceOrderInvalid(
            f"line_items[{index}].quantity {item.get('quantity')!r} is not a number"
        ) from None
    tax = amounts_sum(item.get("tax_lines"), lambda t: as_amount(t.get("price"), "tax"))
    return MarketplaceLine(
        channel_line_id=as_text(item.get("id")),
        channel_sku=as_text(item.get("sku")),
        channel_variant_id=as_text(item.get("variant_id")),
        channel_listing_id=as_text(item.get("product_id")),
        title=as_text(item.get("title")) or as_text(item.get("name")),
        quantity=quantity,
        unit_price=as_amount(item.get("price"), f"line_items[{index}].price"),
        tax=tax,
    )


def marketplace_order_from_shopify(payload: dict[str, Any], *, cancelled: bool = False) -> MarketplaceOrder:
    """A Shopify REST Order resource as a MarketplaceOrder."""
    if not isinstance(payload, dict) or payload.get("id") in (None, ""):
        raise MarketplaceOrderInvalid("no order id")
    items = payload.get("line_items")
    if not isinstance(items, list):
        raise MarketplaceOrderInvalid("line_items is not a list")
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    shipping = _address(payload.get("shipping_address"))
    email = as_text(payload.get("email")) or as_text(customer.get("email"))
    name = joined(customer.get("first_name"), customer.get("last_name"))
    currency = as_text(payload.get("currency")) or as_text(payload.get("presentment_currency"))
    if not currency:
        raise MarketplaceOrderInvalid("no currency")
    lines = tuple(_line(i, item) for i, item in enumerate(items))
    lines = tuple(line for line in lines if line.quantity)  # fully removed lines (edits) carry 0
    shipping_price = amounts_sum(
        payload.get("shipping_lines"), lambda s: as_amount(s.get("price"), "shipping")
    )
    billing = _address(payload.get("billing_address"))
    return MarketplaceOrder(
        external_id=as_text(payload.get("id")),
        name=as_text(payload.get("name")),
        currency=currency.upper(),
        customer={
            "email": email,
            "name": name or shipping.get("name", ""),
            "phone": as_text(payload.get("phone")),
        },
        ship_to=shipping,
        bill_to=billing if billing.get("line1") and billing.get("country") else None,
        lines=lines,
        shipping_price=shipping_price,
        tax=as_amount(payload.get("total_tax"), "total_tax")
        if payload.get("total_tax") is not None
        else None,
        discount=as_amount(payload.get("total_discounts"), "total_discounts"),
        total=as_amount(payload.get("total_price"), "total_price")
        if payload.get("total_price") is not None
        else None,
        placed_at=as_moment(payload.get("created_at")),
        updated_at=as_moment(payload.get("updated_at")),
        cancelled=cancelled or bool(payload.get("cancelled_at")),
        cancel_reason=as_text(payload.get("cancel_reason")),
    )


def shopify_event_handle(event: InboundEvent, payload: dict[str, Any]) -> tuple[str, str]:
    """The inbox handler for source "shopify"."""
    if event.event_type not in ORDER_TOPICS + RETURN_TOPICS:
        return IGNORED, f"topic {event.event_type!r} is not used"
    account = ChannelAccount.objects.for_tenant(event.tenant_id).get(pk=event.account_id)
    if event.event_type in RETURN_TOPICS:
        return shopify_return_open(account, payload)
    incoming = marketplace_order_from_shopify(payload, cancelled=event.event_type == "orders/cancelled")
    outcome = marketplace_order_ingest(account=account, incoming=incoming)
    return outcome.verdict, outcome.text[:200]
