"""The ChannelGateway of eBay accounts: a shipment's tracking becomes a shipping fulfillment.

push_tracking (once per shipment, also when the task runs again after a killed worker):
1. `GET /sell/fulfillment/v1/order/{orderId}/shipping_fulfillment`: the order's fulfillments.
   One that already carries this tracking number (or, for a shipment without one, the same
   line items and no tracking) is this shipment: done, nothing is sent.
2. `POST /sell/fulfillment/v1/order/{orderId}/shipping_fulfillment` (createShippingFulfillment)
   with `lineItems` (the eBay line item each shipped order line came from, `ChannelOrderLine`,
   and the units shipped), `shippedDate` (the shipment's, eBay's form), `shippingCarrierCode` and
   `trackingNumber` (eBay takes letters and digits only). eBay answers 201 with the new
   fulfillment's URI in `Location`.

push_cancellation is refused: the Fulfillment API cannot cancel an order. eBay's seller
cancellation is the Post-Order API (`POST /post-order/v2/cancellation`), another API with its
own authorization header and marketplace header, digital signatures for EU and UK sellers, a
cancellation window, and a seller defect for an out-of-stock reason; we leave that decision to
staff in Seller Hub, and the refusal is noted on the order for them (see docs/ebay.md).

Errors are the client's: unreachable, 5xx and 429 → `ChannelUnavailable` (the task retries);
4xx, an order eBay does not know, a line we cannot name → `ChannelRefused`.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.utils import timezone

from fulfillment.models import Shipment
from integrations.accounts import AccountGateway, channel_line_ids, has_active_account
from integrations.ebay.client import EbayClient
from integrations.ebay.poller import ebay_time
from integrations.models import ChannelAccount, ChannelKind
from orders.channels import CancellationPush, ChannelRefused, TrackingPush

logger = logging.getLogger(__name__)

ORDER_PATH = "/sell/fulfillment/v1/order/{order_id}"

# Our carriers' names (Shippo's providers) as eBay's ShippingCarrierCodeType spells them.
CARRIER_CODES = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx", "dhl": "DHL", "dhlexpress": "DHL"}


def ebay_carrier_code(carrier: str) -> str:
    """eBay's code for a carrier name: the known ones mapped, others sent as written (no spaces)."""
    key = re.sub(r"[^a-z0-9]", "", carrier.lower())
    return CARRIER_CODES.get(key, re.sub(r"\s+", "", carrier))


def ebay_tracking_number(number: str) -> str:
    """eBay takes letters and digits only (no spaces or hyphens, even where the label shows them)."""
    return re.sub(r"[^A-Za-z0-9]", "", number)


def _fulfillments_path(order_id: str) -> str:
    return ORDER_PATH.format(order_id=quote(order_id, safe="")) + "/shipping_fulfillment"


class EbayGateway(AccountGateway):
    channel = ChannelKind.EBAY.value

    def _line_items(self, account: ChannelAccount, push: TrackingPush) -> list[dict[str, Any]]:
        """The shipment's lines as eBay line items: [{lineItemId, quantity}]."""
        by_line = channel_line_ids(account, push.order_external_id)
        quantities: dict[str, int] = {}
        for line in push.lines:
            line_item = by_line.get(line.order_line_id)
            if not line_item:
                raise ChannelRefused(
                    f"eBay order {push.order_external_id}: no eBay line item is known for "
                    f"{line.quantity} × {line.sku}."
                )
            quantities[line_item] = quantities.get(line_item, 0) + line.quantity
        if not quantities:
            raise ChannelRefused("The shipment has no lines to fulfill at eBay.")
        return [{"lineItemId": item, "quantity": qty} for item, qty in quantities.items()]

    def _shipped_at(self, push: TrackingPush) -> datetime:
        shipped = (
            Shipment.objects.for_tenant(self.tenant)
            .filter(number=push.reference)
            .values_list("shipped_at", flat=True)
            .first()
        )
        return shipped or timezone.now()

    def push_tracking(self, *, push: TrackingPush) -> None:
        account = self._account(push.order_external_id)
        client = EbayClient(account, session=self.session)
        line_items = self._line_items(account, push)
        tracking = ebay_tracking_number(push.tracking_number)
        path = _fulfillments_path(push.order_external_id)
        existing = client.json_of(
            client.call("GET", path, operation="getShippingFulfillments"), "getShippingFulfillments"
        )
        if _already_there(existing.get("fulfillments"), tracking, line_items):
            logger.info(
                "eBay order %s already has the fulfillment of %s", push.order_external_id, push.reference
            )
            return
        details: dict[str, Any] = {"lineItems": line_items, "shippedDate": ebay_time(self._shipped_at(push))}
        if tracking:  # eBay wants both or neither
            details["shippingCarrierCode"] = ebay_carrier_code(push.carrier or "Other")
            details["trackingNumber"] = tracking
        response = client.call("POST", path, operation="createShippingFulfillment", json=details)
        logger.info(
            "eBay order %s: fulfillment %s created for %s",
            push.order_external_id,
            response.headers.get("Location", "").rsplit("/", 1)[-1],
            push.reference,
        )

    def push_cancellation(self, *, push: CancellationPush) -> None:
        raise ChannelRefused(
            f"eBay order {push.order_external_id} is not cancelled from here: cancel it in Seller Hub "
            "(the Fulfillment API cannot cancel orders; a seller cancellation may count as a defect)."
        )


def _already_there(fulfillments: Any, tracking: str, line_items: list[dict[str, Any]]) -> bool:
    wanted = sorted((str(i["lineItemId"]), int(i["quantity"])) for i in line_items)
    for fulfillment in fulfillments if isinstance(fulfillments, list) else []:
        if not isinstance(fulfillment, dict):
            continue
        theirs = ebay_tracking_number(str(fulfillment.get("shipmentTrackingNumber") or ""))
        if tracking:
            if theirs == tracking:
                return True
            continue
        items = fulfillment.get("lineItems") or []
        found = sorted(
            (str(i.get("lineItemId")), int(i.get("quantity") or 0)) for i in items if isinstance(i, dict)
        )
        if not theirs and found == wanted:
            return True
    return False


def ebay_gateway_for(tenant: Any) -> EbayGateway | None:
    """The registry's factory: a gateway when the tenant has an active eBay account."""
    return EbayGateway(tenant) if has_active_account(tenant, ChannelKind.EBAY) else None
