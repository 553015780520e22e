"""The ChannelGateway of Shopify accounts: tracking pushed back through the fulfillment-order model.

GraphQL Admin API (the REST Admin API is legacy), `POST {shop}/admin/api/{API_VERSION}/graphql.json`
with `X-Shopify-Access-Token` (the account's credentials), through `requests` with a timeout.
The shop's address is the account's base URL (`effective_base_url`: the settings decide which
hosts it may name).

push_tracking:
1. `order(id:)`: its fulfillments (tracking numbers) and fulfillment orders (open line items).
2. A fulfillment that already carries this tracking number: done (the push is repeated after an
   unknown outcome, so it is idempotent on the parcel).
3. The shipment's lines are matched to fulfillment-order line items by the Shopify line item the
   order line came from (`ChannelOrderLine.channel_line_id`), else by SKU text; a line that
   cannot be matched with enough remaining quantity is a refusal.
4. `fulfillmentCreate(fulfillment: {lineItemsByFulfillmentOrder, trackingInfo, notifyCustomer: false})`
   (we send the customer our own shipped email). GraphQL answers 200 with `userErrors`: a refusal.

Transport: connection errors, timeouts, 429, 5xx and `THROTTLED` are `ChannelUnavailable` (the
task retries with backoff); other 4xx and GraphQL errors are `ChannelRefused`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import requests

from integrations.accounts import AccountGateway, channel_line_ids, has_active_account
from integrations.endpoints import effective_base_url
from integrations.models import ChannelAccount, ChannelKind
from integrations.vendor_http import http_checked, http_json, http_send
from orders.channels import CancellationPush, ChannelRefused, ChannelUnavailable, TrackingPush

logger = logging.getLogger(__name__)

API_VERSION = "2026-07"
TIMEOUT_SECONDS = 10

ORDER_FULFILLMENT_QUERY = """
query OrderFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillments(first: 50) { id status trackingInfo { number company url } }
    fulfillmentOrders(first: 20) {
      nodes {
        id
        status
        lineItems(first: 100) {
          nodes { id remainingQuantity lineItem { id sku } }
        }
      }
    }
  }
}
"""

FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { number company url } }
    userErrors { field message }
  }
}
"""


ORDER_CANCELLED_QUERY = """
query OrderCancelled($id: ID!) {
  order(id: $id) { id cancelledAt }
}
"""

ORDER_CANCEL = """
mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!, $staffNote: String) {
  orderCancel(
    orderId: $orderId, reason: $reason, refund: true, restock: true,
    notifyCustomer: true, staffNote: $staffNote
  ) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""


def order_gid(external_id: str) -> str:
    return external_id if external_id.startswith("gid://") else f"gid://shopify/Order/{external_id}"


def line_item_gid(line_id: str) -> str:
    return line_id if line_id.startswith("gid://") else f"gid://shopify/LineItem/{line_id}"


class ShopifyClient:
    """A thin GraphQL Admin API client for one account."""

    def __init__(self, account: ChannelAccount, *, session: requests.Session | None = None) -> None:
        self.account = account
        base = effective_base_url(account).rstrip("/")
        if not base:
            raise ChannelRefused(f"Shopify account {account.pk} has no shop address (base URL).")
        self.url = f"{base}/admin/api/{API_VERSION}/graphql.json"
        self.session = session or requests.Session()

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = http_send(
            self.session,
            "POST",
            self.url,
            vendor="Shopify",
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": self.account.credentials, "Accept": "application/json"},
            timeout=TIMEOUT_SECONDS,
        )
        http_checked(response, answered="Shopify answered {status}")
        body = http_json(response, not_json="Shopify answered something that is not JSON")
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)}
            if "THROTTLED" in codes:
                raise ChannelUnavailable("Shopify throttled the request")
            messages = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
            raise ChannelRefused(f"Shopify: {messages}"[:500], code="channel_graphql_error")
        return body.get("data") or {}


class ShopifyGateway(AccountGateway):
    channel = ChannelKind.SHOPIFY.value

    def push_tracking(self, *, push: TrackingPush) -> None:
        account = self._account(push.order_external_id)
        client = ShopifyClient(account, session=self.session)
        data = client.graphql(ORDER_FULFILLMENT_QUERY, {"id": order_gid(push.order_external_id)})
        order = data.get("order")
        if not order:
            raise ChannelRefused(f"Shopify has no order {push.order_external_id}.")
        for fulfillment in order.get("fulfillments") or []:
            for info in fulfillment.get("trackingInfo") or []:
                if push.tracking_number and info.get("number") == push.tracking_number:
                    logger.info(
                        "Shopify order %s already has tracking for %s", push.order_external_id, push.reference
                    )
                    return
        by_fo = self._line_items(account, push, order)
        payload = {
            "fulfillment": {
                "lineItemsByFulfillmentOrder": [
                    {
                        "fulfillmentOrderId": fo_id,
                        "fulfillmentOrderLineItems": [{"id": i, "quantity": q} for i, q in items.items()],
                    }
                    for fo_id, items in by_fo.items()
                ],
                "notifyCustomer": False,
                "trackingInfo": {
                    "number": push.tracking_number,
                    "company": push.carrier,
                    **({"url": push.tracking_url} if push.tracking_url else {}),
                },
            }
        }
        result = client.graphql(FULFILLMENT_CREATE, payload).get("fulfillmentCreate") or {}
        errors = result.get("userErrors") or []
        if errors:
            text = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
            raise ChannelRefused(f"Shopify refused the fulfillment: {text}"[:500])
        if not result.get("fulfillment"):
            raise ChannelUnavailable("Shopify answered without a fulfillment")

    def _line_items(
        self, account: ChannelAccount, push: TrackingPush, order: dict[str, Any]
    ) -> dict[str, dict[str, int]]:
        """fulfillment order id -> {fulfillment-order line item id: quantity} for the push's lines."""
        open_items: list[dict[str, Any]] = []
        for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []:
            if fo.get("status") in ("CLOSED", "CANCELLED", "INCOMPLETE"):
                continue
            for item in (fo.get("lineItems") or {}).get("nodes") or []:
                if int(item.get("remainingQuantity") or 0) > 0:
                    open_items.append({**item, "fo": fo["id"], "left": int(item["remainingQuantity"])})
        by_line = channel_line_ids(account, push.order_external_id)
        chosen: dict[str, dict[str, int]] = defaultdict(dict)
        for line in push.lines:
            want = line.quantity
            channel_line = by_line.get(line.order_line_id)
            for item in open_items:
                if want <= 0:
                    break
                line_item = item.get("lineItem") or {}
                matches = (
                    line_item.get("id") == line_item_gid(channel_line)
                    if channel_line
                    else (line_item.get("sku") or "") == line.sku
                )
                if not matches or item["left"] <= 0:
                    continue
                take = min(want, item["left"])
                item["left"] -= take
                want -= take
                chosen[item["fo"]][item["id"]] = chosen[item["fo"]].get(item["id"], 0) + take
            if want > 0:
                raise ChannelRefused(
                    f"Shopify order {push.order_external_id} has no open fulfillment-order line for "
                    f"{line.quantity} × {line.sku}."
                )
        if not chosen:
            raise ChannelRefused("The shipment has no lines to fulfill at Shopify.")
        return dict(chosen)

    def push_cancellation(self, *, push: CancellationPush) -> None:
        """Cancel the whole order at Shopify (refunded, restocked, the customer told), once: an order
        Shopify already shows cancelled is left as it is. Partial cancellations are refused."""
        account = self._account(push.order_external_id)
        client = ShopifyClient(account, session=self.session)
        order = client.graphql(ORDER_CANCELLED_QUERY, {"id": order_gid(push.order_external_id)}).get("order")
        if not order:
            raise ChannelRefused(f"Shopify has no order {push.order_external_id}.")
        if order.get("cancelledAt"):
            return
        variables = {
            "orderId": order_gid(push.order_external_id),
            "reason": "INVENTORY" if "stock" in push.reason.lower() else "OTHER",
            "staffNote": f"{push.reference}: {push.reason}"[:255],
        }
        result = client.graphql(ORDER_CANCEL, variables).get("orderCancel") or {}
        errors = result.get("orderCancelUserErrors") or result.get("userErrors") or []
        if errors:
            text = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
            raise ChannelRefused(f"Shopify refused the cancellation: {text}"[:500])


def shopify_gateway_for(tenant: Any) -> ShopifyGateway | None:
    """The registry's factory: a gateway when the tenant has an active Shopify account."""
    return ShopifyGateway(tenant) if has_active_account(tenant, ChannelKind.SHOPIFY) else None
