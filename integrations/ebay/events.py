"""Processing polled eBay orders (from the inbox, in a task). eBay's shapes stop here.

Each polled record is one Sell Fulfillment `Order` (source "ebay", event type "ebay.order").
`marketplace_order_from_ebay` reads it into a `MarketplaceOrder`; `marketplace_order_ingest`
does the rest (one order per `orderId`, SKU matching, holds, cancellation, updates).

What is read:
- lines: `lineItems[]` `lineItemId`, `sku`, `legacyItemId` (the listing), `legacyVariationId`,
  `title`, `quantity`, `lineItemCost` (eBay's price x quantity: the unit price is it / quantity),
  `taxes[].amount`, `appliedPromotions[].discountAmount`. The variant id we match mappings by is
  the listing id, or `<listing>-<variation>` for a variation, so a listing without a seller SKU
  can still be mapped.
- ship-to: `fulfillmentStartInstructions[0].shippingStep.shipTo` (`fullName`, `companyName`,
  `contactAddress`, `primaryPhone.phoneNumber`, `email`).
- customer: the ship-to's email (else `buyer.buyerRegistrationAddress.email`) and name; the
  buyer's eBay `username` is kept in the name when there is none.
- money: `pricingSummary` `total`, `deliveryCost`, `tax`, `priceDiscount` + `deliveryDiscount`,
  in `total.currency`.
- `cancelStatus.cancelState == "CANCELED"`: cancelled (the reason from `cancelRequests`).

An order that cannot be read raises `MarketplaceOrderInvalid`: the event is kept as failed with
the reason (retried, then dead, replayable), never dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
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

ORDER_EVENT = "ebay.order"
CANCELED = "CANCELED"
CENT = Decimal("0.01")


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _amount(value: Any, what: str) -> Decimal:
    """An eBay `Amount` ({value, currency}) as a Decimal; absent is 0."""
    raw = _dict(value).get("value") if isinstance(value, dict) else value
    if raw in (None, ""):
        return Decimal("0")
    try:
        amount = Decimal(str(raw))
    except InvalidOperation:
        raise MarketplaceOrderInvalid(f"{what} {raw!r} is not an amount") from None
    if not amount.is_finite():
        raise MarketplaceOrderInvalid(f"{what} {raw!r} is not an amount")
    return amount


def _when(value: Any) -> datetime | None:
    parsed = parse_datetime(_text(value)) if value else None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _ship_to(order: dict[str, Any]) -> dict[str, Any]:
    instructions = order.get("fulfillmentStartInstructions")
    first = instructions[0] if isinstance(instructions, list) and instructions else {}
    return _dict(_dict(_dict(first).get("shippingStep")).get("shipTo"))


def _address(contact: dict[str, Any]) -> dict[str, str]:
    address = _dict(contact.get("contactAddress"))
    return {
        "name": _text(contact.get("fullName")),
        "company": _text(contact.get("companyName")),
        "line1": _text(address.get("addressLine1")),
        "line2": _text(address.get("addressLine2")),
        "city": _text(address.get("city")),
        "region": _text(address.get("stateOrProvince")),
        "postal_code": _text(address.get("postalCode")),
        "country": _text(address.get("countryCode")).upper()[:2],
        "phone": _text(_dict(contact.get("primaryPhone")).get("phoneNumber")),
    }


def _line(index: int, item: Any) -> MarketplaceLine:
    if not isinstance(item, dict):
        raise MarketplaceOrderInvalid(f"lineItems[{index}] is not an object")
    raw_quantity = item.get("quantity")
    if isinstance(raw_quantity, bool):
        raw_quantity = None
    try:
        quantity = int(raw_quantity)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise MarketplaceOrderInvalid(
            f"lineItems[{index}].quantity {item.get('quantity')!r} is not a number"
        ) from None
    cost = _amount(item.get("lineItemCost"), f"lineItems[{index}].lineItemCost")
    unit = (cost / quantity).quantize(CENT, rounding=ROUND_HALF_UP) if quantity > 0 else cost
    listing = _text(item.get("legacyItemId"))
    variation = _text(item.get("legacyVariationId"))
    tax = sum(
        (_amount(t.get("amount"), "tax") for t in item.get("taxes") or [] if isinstance(t, dict)),
        Decimal("0"),
    )
    discount = sum(
        (
            abs(_amount(p.get("discountAmount"), "discount"))
            for p in item.get("appliedPromotions") or []
            if isinstance(p, dict)
        ),
        Decimal("0"),
    )
    return MarketplaceLine(
        channel_line_id=_text(item.get("lineItemId")),
        channel_sku=_text(item.get("sku")),
        channel_variant_id=f"{listing}-{variation}" if listing and variation else listing,
        channel_listing_id=listing,
        title=_text(item.get("title")),
        quantity=quantity,
        unit_price=unit,
        tax=tax,
        discount=discount,
    )


def _cancel_reason(status: dict[str, Any]) -> str:
    for request in status.get("cancelRequests") or []:
        if isinstance(request, dict) and request.get("cancelReason"):
            return _text(request["cancelReason"])
    return ""


def marketplace_order_from_ebay(payload: Any) -> MarketplaceOrder:
    """A Sell Fulfillment API `Order` as a MarketplaceOrder."""
    if not isinstance(payload, dict) or not _text(payload.get("orderId")):
        raise MarketplaceOrderInvalid("no orderId")
    items = payload.get("lineItems")
    if not isinstance(items, list):
        raise MarketplaceOrderInvalid("lineItems is not a list")
    lines = tuple(_line(i, item) for i, item in enumerate(items))
    pricing = _dict(payload.get("pricingSummary"))
    first_cost = _dict(items[0]).get("lineItemCost") if items and isinstance(items[0], dict) else None
    currency = _text(_dict(pricing.get("total")).get("currency")) or _text(_dict(first_cost).get("currency"))
    if not currency:
        raise MarketplaceOrderInvalid("no currency (pricingSummary.total.currency)")
    ship_to_contact = _ship_to(payload)
    ship_to = _address(ship_to_contact)
    buyer = _dict(payload.get("buyer"))
    registered = _dict(buyer.get("buyerRegistrationAddress"))
    status = _dict(payload.get("cancelStatus"))
    discount = abs(_amount(pricing.get("priceDiscount"), "priceDiscount")) + abs(
        _amount(pricing.get("deliveryDiscount"), "deliveryDiscount")
    )
    return MarketplaceOrder(
        external_id=_text(payload["orderId"]),
        name=_text(payload["orderId"]),
        currency=currency.upper(),
        customer={
            "email": _text(ship_to_contact.get("email")) or _text(registered.get("email")),
            "name": ship_to["name"] or _text(registered.get("fullName")) or _text(buyer.get("username")),
            "phone": ship_to["phone"],
        },
        ship_to=ship_to,
        lines=lines,
        shipping_price=_amount(pricing.get("deliveryCost"), "deliveryCost"),
        tax=_amount(pricing.get("tax"), "tax") if pricing.get("tax") is not None else None,
        discount=discount,
        total=_amount(pricing.get("total"), "total") if pricing.get("total") is not None else None,
        placed_at=_when(payload.get("creationDate")),
        updated_at=_when(payload.get("lastModifiedDate")),
        cancelled=_text(status.get("cancelState")) == CANCELED,
        cancel_reason=_cancel_reason(status),
        extra={"buyer": _text(buyer.get("username")), "legacy_order_id": _text(payload.get("legacyOrderId"))},
    )


def ebay_event_handle(event: InboundEvent, payload: dict[str, Any]) -> tuple[str, str]:
    """The inbox handler for source "ebay": a polled order becomes, or updates, ours."""
    if event.event_type != ORDER_EVENT:
        return IGNORED, f"event type {event.event_type!r} is not used"
    account = ChannelAccount.objects.for_tenant(event.tenant_id).get(pk=event.account_id)
    outcome = marketplace_order_ingest(account=account, incoming=marketplace_order_from_ebay(payload))
    return outcome.verdict, outcome.text[:200]
