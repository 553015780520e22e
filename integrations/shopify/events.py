"""Processing verified Shopify deliveries (from the inbox, in a task). Shopify's shapes stop here.

orders/create, orders/updated and orders/cancelled carry the whole REST Order resource
(../shared/integrations.md 3.2); `marketplace_order_from_shopify` reads it into a
`MarketplaceOrder` and `marketplace_order_ingest` does the rest. An order that cannot be read
(no line items, a quantity that is not a number...) raises `MarketplaceOrderInvalid`: the event
is kept as failed with the reason (and dead after the inbox's attempts), never dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

from integrations.inbox import IGNORED
from integrations.ingest import (
    MarketplaceLine,
    MarketplaceOrder,
    MarketplaceOrderInvalid,
    marketplace_order_ingest,
)
from integrations.models import ChannelAccount, InboundEvent

ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled")


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _money(value: Any, what: str) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MarketplaceOrderInvalid(f"{what} {value!r} is not an amount") from None
    if not amount.is_finite():
        raise MarketplaceOrderInvalid(f"{what} {value!r} is not an amount")
    return amount


def _when(value: Any) -> datetime | None:
    parsed = parse_datetime(_text(value)) if value else None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _address(data: Any) -> dict[str, str]:
    if not isinstance(data, dict):
        return {}
    name = _text(data.get("name")) or " ".join(
        p for p in (_text(data.get("first_name")), _text(data.get("last_name"))) if p
    )
    return {
        "name": name,
        "company": _text(data.get("company")),
        "line1": _text(data.get("address1")),
        "line2": _text(data.get("address2")),
        "city": _text(data.get("city")),
        "region": _text(data.get("province_code")) or _text(data.get("province")),
        "postal_code": _text(data.get("zip")),
        "country": _text(data.get("country_code")).upper()[:2],
        "phone": _text(data.get("phone")),
    }


def _line(index: int, item: Any) -> MarketplaceLine:
    if not isinstance(item, dict):
        raise MarketplaceOrderInvalid(f"line_items[{index}] is not an object")
    try:
        quantity = int(item.get("quantity"))
    except (TypeError, ValueError):
        raise MarketplaceOrderInvalid(
            f"line_items[{index}].quantity {item.get('quantity')!r} is not a number"
        ) from None
    tax = sum(
        (_money(t.get("price"), "tax") for t in item.get("tax_lines") or [] if isinstance(t, dict)),
        Decimal("0"),
    )
    return MarketplaceLine(
        channel_line_id=_text(item.get("id")),
        channel_sku=_text(item.get("sku")),
        channel_variant_id=_text(item.get("variant_id")),
        channel_listing_id=_text(item.get("product_id")),
        title=_text(item.get("title")) or _text(item.get("name")),
        quantity=quantity,
        unit_price=_money(item.get("price"), f"line_items[{index}].price"),
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
    email = _text(payload.get("email")) or _text(customer.get("email"))
    name = " ".join(p for p in (_text(customer.get("first_name")), _text(customer.get("last_name"))) if p)
    currency = _text(payload.get("currency")) or _text(payload.get("presentment_currency"))
    if not currency:
        raise MarketplaceOrderInvalid("no currency")
    lines = tuple(_line(i, item) for i, item in enumerate(items))
    lines = tuple(line for line in lines if line.quantity)  # fully removed lines (edits) carry 0
    shipping_price = sum(
        (
            _money(s.get("price"), "shipping")
            for s in payload.get("shipping_lines") or []
            if isinstance(s, dict)
        ),
        Decimal("0"),
    )
    billing = _address(payload.get("billing_address"))
    return MarketplaceOrder(
        external_id=_text(payload.get("id")),
        name=_text(payload.get("name")),
        currency=currency.upper(),
        customer={
            "email": email,
            "name": name or shipping.get("name", ""),
            "phone": _text(payload.get("phone")),
        },
        ship_to=shipping,
        bill_to=billing if billing.get("line1") and billing.get("country") else None,
        lines=lines,
        shipping_price=shipping_price,
        tax=_money(payload.get("total_tax"), "total_tax") if payload.get("total_tax") is not None else None,
        discount=_money(payload.get("total_discounts"), "total_discounts"),
        total=_money(payload.get("total_price"), "total_price")
        if payload.get("total_price") is not None
        else None,
        placed_at=_when(payload.get("created_at")),
        updated_at=_when(payload.get("updated_at")),
        cancelled=cancelled or bool(payload.get("cancelled_at")),
        cancel_reason=_text(payload.get("cancel_reason")),
    )


def shopify_event_handle(event: InboundEvent, payload: dict[str, Any]) -> tuple[str, str]:
    """The inbox handler for source "shopify"."""
    if event.event_type not in ORDER_TOPICS:
        return IGNORED, f"topic {event.event_type!r} is not used"
    account = ChannelAccount.objects.for_tenant(event.tenant_id).get(pk=event.account_id)
    incoming = marketplace_order_from_shopify(payload, cancelled=event.event_type == "orders/cancelled")
    outcome = marketplace_order_ingest(account=account, incoming=incoming)
    return outcome.verdict, outcome.text[:200]
