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

from decimal import Decimal
from typing import Any

from integrations.inbox import IGNORED
from integrations.ingest import (
    MarketplaceLine,
    MarketplaceOrder,
    MarketplaceOrderInvalid,
    marketplace_order_ingest,
)
from integrations.models import ChannelAccount, InboundEvent
from integrations.parsing import (
    amounts_sum,
    as_amount,
    as_dict,
    as_moment,
    as_text,
    postal_address,
    unit_price,
)

ORDER_EVENT = "ebay.order"
CANCELED = "CANCELED"
CENT = Decimal("0.01")


def _amount(value: Any, what: str) -> Decimal:
    """An eBay `Amount` ({value, currency}) as a Decimal; absent is 0."""
    return as_amount(as_dict(value).get("value") if isinstance(value, dict) else value, what)


def _ship_to(order: dict[str, Any]) -> dict[str, Any]:
    instructions = order.get("fulfillmentStartInstructions")
    first = instructions[0] if isinstance(instructions, list) and instructions else {}
    return as_dict(as_dict(as_dict(first).get("shippingStep")).get("shipTo"))


def _address(contact: dict[str, Any]) -> dict[str, str]:
    address = as_dict(contact.get("contactAddress"))
    return postal_address(
        name=contact.get("fullName"),
        company=contact.get("companyName"),
        line1=address.get("addressLine1"),
        line2=address.get("addressLine2"),
        city=address.get("city"),
        region=address.get("stateOrProvince"),
        postal_code=address.get("postalCode"),
        country=address.get("countryCode"),
        phone=as_dict(contact.get("primaryPhone")).get("phoneNumber"),
    )


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
    listing = as_text(item.get("legacyItemId"))
    variation = as_text(item.get("legacyVariationId"))
    tax = amounts_sum(item.get("taxes"), lambda t: _amount(t.get("amount"), "tax"))
    discount = amounts_sum(
        item.get("appliedPromotions"), lambda p: abs(_amount(p.get("discountAmount"), "discount"))
    )
    return MarketplaceLine(
        channel_line_id=as_text(item.get("lineItemId")),
        channel_sku=as_text(item.get("sku")),
        channel_variant_id=f"{listing}-{variation}" if listing and variation else listing,
        channel_listing_id=listing,
        title=as_text(item.get("title")),
        quantity=quantity,
        unit_price=unit_price(cost, quantity, CENT),
        tax=tax,
        discount=discount,
    )


def _cancel_reason(status: dict[str, Any]) -> str:
    for request in status.get("cancelRequests") or []:
        if isinstance(request, dict) and request.get("cancelReason"):
            return as_text(request["cancelReason"])
    return ""


def marketplace_order_from_ebay(payload: Any) -> MarketplaceOrder:
    """A Sell Fulfillment API `Order` as a MarketplaceOrder."""
    if not isinstance(payload, dict) or not as_text(payload.get("orderId")):
        raise MarketplaceOrderInvalid("no orderId")
    items = payload.get("lineItems")
    if not isinstance(items, list):
        raise MarketplaceOrderInvalid("lineItems is not a list")
    lines = tuple(_line(i, item) for i, item in enumerate(items))
    pricing = as_dict(payload.get("pricingSummary"))
    first_cost = as_dict(items[0]).get("lineItemCost") if items and isinstance(items[0], dict) else None
    currency = as_text(as_dict(pricing.get("total")).get("currency")) or as_text(
        as_dict(first_cost).get("currency")
    )
    if not currency:
        raise MarketplaceOrderInvalid("no currency (pricingSummary.total.currency)")
    ship_to_contact = _ship_to(payload)
    ship_to = _address(ship_to_contact)
    buyer = as_dict(payload.get("buyer"))
    registered = as_dict(buyer.get("buyerRegistrationAddress"))
    status = as_dict(payload.get("cancelStatus"))
    discount = abs(_amount(pricing.get("priceDiscount"), "priceDiscount")) + abs(
        _amount(pricing.get("deliveryDiscount"), "deliveryDiscount")
    )
    return MarketplaceOrder(
        external_id=as_text(payload["orderId"]),
        name=as_text(payload["orderId"]),
        currency=currency.upper(),
        customer={
            "email": as_text(ship_to_contact.get("email")) or as_text(registered.get("email")),
            "name": ship_to["name"] or as_text(registered.get("fullName")) or as_text(buyer.get("username")),
            "phone": ship_to["phone"],
        },
        ship_to=ship_to,
        lines=lines,
        shipping_price=_amount(pricing.get("deliveryCost"), "deliveryCost"),
        tax=_amount(pricing.get("tax"), "tax") if pricing.get("tax") is not None else None,
        discount=discount,
        total=_amount(pricing.get("total"), "total") if pricing.get("total") is not None else None,
        placed_at=as_moment(payload.get("creationDate")),
        updated_at=as_moment(payload.get("lastModifiedDate")),
        cancelled=as_text(status.get("cancelState")) == CANCELED,
        cancel_reason=_cancel_reason(status),
        extra={
            "buyer": as_text(buyer.get("username")),
            "legacy_order_id": as_text(payload.get("legacyOrderId")),
        },
    )


def ebay_event_handle(event: InboundEvent, payload: dict[str, Any]) -> tuple[str, str]:
    """The inbox handler for source "ebay": a polled order becomes, or updates, ours."""
    if event.event_type != ORDER_EVENT:
        return IGNORED, f"event type {event.event_type!r} is not used"
    account = ChannelAccount.objects.for_tenant(event.tenant_id).get(pk=event.account_id)
    outcome = marketplace_order_ingest(account=account, incoming=marketplace_order_from_ebay(payload))
    return outcome.verdict, outcome.text[:200]
