"""Processing verified WooCommerce deliveries (from the inbox, in a task). WooCommerce's shapes stop here.

order.created, order.updated and order.restored carry the whole REST v3 order resource
(../shared/integrations.md section 6); order.deleted carries only `{"id": n}`.
`marketplace_order_from_woocommerce` reads them into a `MarketplaceOrder` and
`marketplace_order_ingest` does the rest:

- lines: `channel_line_id` = the line item id, `channel_sku` = its SKU, `channel_variant_id` =
  the variation id, or the product id for a simple product, `channel_listing_id` = the product
  id. The unit price is the line's subtotal over its quantity (before coupons), the line's
  discount is subtotal minus total, its tax `total_tax`; money comes as decimal strings;
- status cancelled, refunded, failed (payment failed) or trash, and order.deleted: cancelled;
- customer from the billing email, name and phone; ship-to from `shipping`, or from `billing`
  when `shipping` has no street (a shop that does not ask for a separate shipping address);
- updated_at from `date_modified_gmt`, placed_at from `date_created_gmt` (both UTC).

An order WooCommerce still shows as awaiting payment (`pending`, `checkout-draft`) and that we
have not taken yet is ignored: the order.updated WooCommerce sends when it is paid (status
processing or on-hold) brings it in. An order that cannot be read raises
`MarketplaceOrderInvalid`: the inbox keeps the event as failed with the reason.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integrations.inbox import IGNORED
from integrations.ingest import (
    MarketplaceLine,
    MarketplaceOrder,
    MarketplaceOrderInvalid,
    marketplace_order_ingest,
)
from integrations.models import ChannelAccount, ChannelOrder, InboundEvent
from integrations.parsing import as_amount, as_moment, as_text, joined, postal_address, unit_price
from oms.core.money import currency_exponent, is_currency

ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
CANCELLED_STATUSES = {
    "cancelled": "cancelled",
    "refunded": "refunded",
    "failed": "payment failed",
    "trash": "moved to the trash",
}
AWAITING_PAYMENT = ("pending", "checkout-draft")


def _id(value: Any) -> str:
    """A WooCommerce id as text; 0 (WooCommerce's "none") is ""."""
    text = as_text(value)
    return "" if text in ("0", "None") else text


def _address(data: Any) -> dict[str, str]:
    if not isinstance(data, dict):
        return {}
    return postal_address(
        name=joined(data.get("first_name"), data.get("last_name")),
        company=data.get("company"),
        line1=data.get("address_1"),
        line2=data.get("address_2"),
        city=data.get("city"),
        region=data.get("state"),
        postal_code=data.get("postcode"),
        country=data.get("country"),
        phone=data.get("phone"),
    )


def _line(index: int, item: Any, cent: Decimal) -> MarketplaceLine:
    if not isinstance(item, dict):
        raise MarketplaceOrderInvalid(f"line_items[{index}] is not an object")
    raw_quantity = item.get("quantity")
    try:
        if isinstance(raw_quantity, bool) or raw_quantity is None:
            raise ValueError
        quantity = int(str(raw_quantity))
    except ValueError:
        raise MarketplaceOrderInvalid(
            f"line_items[{index}].quantity {raw_quantity!r} is not a number"
        ) from None
    if item.get("subtotal") not in (None, ""):
        subtotal = as_amount(item.get("subtotal"), f"line_items[{index}].subtotal")
    else:
        subtotal = as_amount(item.get("price"), f"line_items[{index}].price") * max(quantity, 0)
    total = as_amount(item.get("total"), f"line_items[{index}].total") if "total" in item else subtotal
    product, variation = _id(item.get("product_id")), _id(item.get("variation_id"))
    return MarketplaceLine(
        channel_line_id=_id(item.get("id")),
        channel_sku=as_text(item.get("sku")),
        channel_variant_id=variation or product,
        channel_listing_id=product,
        title=as_text(item.get("name")),
        quantity=quantity,
        unit_price=unit_price(subtotal, quantity, cent),
        tax=as_amount(item.get("total_tax"), f"line_items[{index}].total_tax"),
        discount=max(Decimal("0"), subtotal - total).quantize(cent, rounding=ROUND_HALF_UP),
    )


def marketplace_order_from_woocommerce(payload: dict[str, Any], *, deleted: bool = False) -> MarketplaceOrder:
    """A WooCommerce REST v3 order resource (or order.deleted's `{"id": n}`) as a MarketplaceOrder."""
    if not isinstance(payload, dict) or not _id(payload.get("id")):
        raise MarketplaceOrderInvalid("no order id")
    external_id = _id(payload.get("id"))
    number = as_text(payload.get("number")) or external_id
    if deleted:
        return MarketplaceOrder(
            external_id=external_id,
            name=f"#{number}",
            currency=as_text(payload.get("currency")).upper(),
            customer={},
            ship_to={},
            lines=(),
            cancelled=True,
            cancel_reason="deleted",
        )
    currency = as_text(payload.get("currency")).upper()
    if not is_currency(currency):
        raise MarketplaceOrderInvalid(f"currency {payload.get('currency')!r} is not an ISO 4217 code")
    cent = Decimal(1).scaleb(-currency_exponent(currency))
    items = payload.get("line_items")
    if not isinstance(items, list):
        raise MarketplaceOrderInvalid("line_items is not a list")
    billing = _address(payload.get("billing"))
    shipping = _address(payload.get("shipping"))
    ship_to = shipping if shipping.get("line1") else dict(billing)
    ship_to["name"] = ship_to.get("name") or billing.get("name", "")
    ship_to["phone"] = ship_to.get("phone") or billing.get("phone", "")
    raw_billing = payload.get("billing") if isinstance(payload.get("billing"), dict) else {}
    status = as_text(payload.get("status"))
    return MarketplaceOrder(
        external_id=external_id,
        name=f"#{number}",
        currency=currency,
        customer={
            "email": as_text(raw_billing.get("email")),
            "name": billing.get("name") or ship_to.get("name", ""),
            "phone": billing.get("phone", ""),
        },
        ship_to=ship_to,
        bill_to=billing if billing.get("line1") and billing.get("country") else None,
        lines=tuple(_line(i, item, cent) for i, item in enumerate(items)),
        shipping_price=as_amount(payload.get("shipping_total"), "shipping_total"),
        tax=as_amount(payload.get("total_tax"), "total_tax")
        if payload.get("total_tax") is not None
        else None,
        discount=as_amount(payload.get("discount_total"), "discount_total"),
        total=as_amount(payload.get("total"), "total") if payload.get("total") is not None else None,
        placed_at=as_moment(payload.get("date_created_gmt")),
        updated_at=as_moment(payload.get("date_modified_gmt")),
        cancelled=status in CANCELLED_STATUSES,
        cancel_reason=CANCELLED_STATUSES.get(status, ""),
    )


def woocommerce_event_handle(event: InboundEvent, payload: dict[str, Any]) -> tuple[str, str]:
    """The inbox handler for source "woocommerce"."""
    if event.event_type not in ORDER_TOPICS:
        return IGNORED, f"topic {event.event_type!r} is not used"
    account = ChannelAccount.objects.for_tenant(event.tenant_id).get(pk=event.account_id)
    incoming = marketplace_order_from_woocommerce(payload, deleted=event.event_type == "order.deleted")
    status = as_text(payload.get("status"))
    if status in AWAITING_PAYMENT and not incoming.cancelled:
        known = ChannelOrder.objects.for_tenant(account.tenant_id).filter(
            account=account, external_id=incoming.external_id
        )
        if not known.exists():
            return IGNORED, f"order {incoming.name} awaits payment (status {status}): taken once paid"
    outcome = marketplace_order_ingest(account=account, incoming=incoming)
    return outcome.verdict, outcome.text[:200]
