"""A Shopify `returns/request` webhook opens a return in our returns room.

The body is Shopify's Return (REST-style webhook body): `id` / `admin_graphql_api_id`, `name`,
`status`, `order {id}` and `return_line_items [{id, quantity, return_reason, customer_note,
fulfillment_line_item {line_item {id}}}]`. The order must be one we took from this account
(`ChannelOrder`), and each Shopify line item is matched to our order line through
`ChannelOrderLine.channel_line_id`. The return is opened with `returns.services.return_open`
(source "shopify", external id = the Shopify return id: a redelivery finds the first return),
resolution refund.

What the merchant sees in the inbox:

- an order we do not know, or a line item we cannot match (or whose SKU is still unmapped):
  `ShopifyReturnInvalid`, the event is `failed` with the reason (retried, then dead; replay it
  from the admin once the order is in).
- a return our policy refuses (`outside_return_window`, `quantity_exceeds_returnable`,
  `not_returnable`, `order_cancelled`): the event is `processed` and its outcome says
  "refused: <code>: <message>". Shopify will not send it differently, so retrying is pointless;
  staff settle it with the customer at Shopify.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.inbox import PROCESSED
from integrations.models import ChannelAccount, ChannelOrder, ChannelOrderLine
from integrations.parsing import as_text
from returns.errors import ReturnConflict, ReturnError, ReturnErrorCode
from returns.services import ReturnLineInput, return_open
from returns.states import Resolution, ReturnReason, ReturnSource

RETURN_TOPICS = ("returns/request",)

# Shopify's ReturnReason (REST lower case, GraphQL upper case) -> our reason codes.
# Style, colour and Shopify's own "unknown"/"other" are the customer's choice: "other".
REASONS = {
    "defective": ReturnReason.DEFECTIVE,
    "not_as_described": ReturnReason.NOT_AS_DESCRIBED,
    "wrong_item": ReturnReason.WRONG_ITEM,
    "size_too_small": ReturnReason.WRONG_SIZE,
    "size_too_large": ReturnReason.WRONG_SIZE,
    "unwanted": ReturnReason.NO_LONGER_NEEDED,
    "style": ReturnReason.OTHER,
    "color": ReturnReason.OTHER,
    "other": ReturnReason.OTHER,
    "unknown": ReturnReason.OTHER,
}

# Refusals of the returns policy: recorded as the event's outcome, not retried.
REFUSALS = frozenset(
    {
        ReturnErrorCode.OUTSIDE_RETURN_WINDOW,
        ReturnErrorCode.QUANTITY_EXCEEDS_RETURNABLE,
        ReturnErrorCode.NOT_RETURNABLE,
        ReturnErrorCode.ORDER_CANCELLED,
    }
)


class ShopifyReturnInvalid(Exception):
    """The return cannot be tied to our order or its lines; the inbox keeps the event failed."""


@dataclass(frozen=True)
class ShopifyReturnLine:
    line_item_id: str
    quantity: int
    reason: str
    note: str


def _tail(value: Any) -> str:
    """A Shopify id as its number: 123 and "gid://shopify/LineItem/123" are both "123"."""
    return as_text(value).rsplit("/", 1)[-1]


def shopify_reason(value: Any) -> str:
    """Our reason code for Shopify's return reason (unknown or missing: "other")."""
    return REASONS.get(as_text(value).lower(), ReturnReason.OTHER)


def _return_lines(payload: dict[str, Any]) -> list[ShopifyReturnLine]:
    items = payload.get("return_line_items")
    if not isinstance(items, list) or not items:
        raise ShopifyReturnInvalid("return_line_items is empty or not a list")
    lines = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ShopifyReturnInvalid(f"return_line_items[{index}] is not an object")
        fulfillment_item = item.get("fulfillment_line_item")
        line_item = fulfillment_item.get("line_item") if isinstance(fulfillment_item, dict) else None
        line_item_id = _tail(line_item.get("id")) if isinstance(line_item, dict) else ""
        if not line_item_id:
            raise ShopifyReturnInvalid(f"return_line_items[{index}] names no line item")
        try:
            quantity = int(item.get("quantity"))
        except (TypeError, ValueError):
            raise ShopifyReturnInvalid(
                f"return_line_items[{index}].quantity {item.get('quantity')!r} is not a number"
            ) from None
        lines.append(
            ShopifyReturnLine(
                line_item_id=line_item_id,
                quantity=quantity,
                reason=shopify_reason(item.get("return_reason")),
                note=as_text(item.get("customer_note")),
            )
        )
    return lines


def _our_lines(channel_order: ChannelOrder, lines: list[ShopifyReturnLine]) -> list[ReturnLineInput]:
    """One ReturnLineInput per order line (two fulfillment lines of one item add up)."""
    ours = {
        row.channel_line_id: row.order_line_id
        for row in ChannelOrderLine.objects.for_tenant(channel_order.tenant_id).filter(
            channel_order=channel_order
        )
    }
    merged: dict[int, ReturnLineInput] = {}
    for line in lines:
        order_line_id = ours.get(line.line_item_id)
        if order_line_id is None:
            raise ShopifyReturnInvalid(
                f"line item {line.line_item_id} is not a mapped line of "
                f"Shopify order {channel_order.external_id}"
            )
        before = merged.get(order_line_id)
        merged[order_line_id] = ReturnLineInput(
            line=order_line_id,
            quantity=line.quantity + (before.quantity if before else 0),
            reason=before.reason if before else line.reason,
            note="; ".join(n for n in ((before.note if before else ""), line.note) if n),
        )
    return list(merged.values())


def shopify_return_open(account: ChannelAccount, payload: dict[str, Any]) -> tuple[str, str]:
    """Open (once) the return Shopify asks for; (verdict, outcome text) for the inbox."""
    return_id = _tail(payload.get("id")) or _tail(payload.get("admin_graphql_api_id"))
    if not return_id:
        raise ShopifyReturnInvalid("no return id")
    order = payload.get("order")
    order_id = _tail(order.get("id")) if isinstance(order, dict) else ""
    if not order_id:
        raise ShopifyReturnInvalid("no order id")
    lines = _return_lines(payload)
    channel_order = (
        ChannelOrder.objects.for_tenant(account.tenant_id)
        .filter(account=account, external_id=order_id, order__isnull=False)
        .first()
    )
    if channel_order is None:
        raise ShopifyReturnInvalid(f"Shopify order {order_id} is not an order we imported")
    name = as_text(payload.get("name")) or return_id
    try:
        ret, created = return_open(
            tenant=account.tenant,
            order_id=channel_order.order_id,
            lines=_our_lines(channel_order, lines),
            resolution=Resolution.REFUND,
            source=ReturnSource.SHOPIFY,
            external_id=return_id,
            customer_note="; ".join(dict.fromkeys(line.note for line in lines if line.note)),
            actor="shopify",
        )
    except (ReturnError, ReturnConflict) as exc:
        if exc.code not in REFUSALS:
            raise
        return PROCESSED, f"refused {name}: {exc.code}: {exc.message}"
    verb = "opened" if created else "already open:"
    return PROCESSED, f"return {verb} {ret.rma_number} for Shopify return {name}"
