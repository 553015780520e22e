"""The ChannelGateway of Amazon accounts: tracking confirmed once per shipment, cancellations refused.

push_tracking (`shipment_tracking_push_task`, docs/tracking.md):
1. `getOrder` (v2026-01-01) with `includedData=PACKAGES`: a package that already carries this
   tracking number means it was confirmed (a push repeated after a killed worker): done.
2. The shipment's lines become `orderItems` `[{orderItemId, quantity}]` through the Amazon order
   item each order line came from (`ChannelOrderLine.channel_line_id`), else by seller SKU.
3. `POST /orders/v0/orders/{orderId}/shipmentConfirmation` (confirmShipment: v0, and not
   deprecated) with `marketplaceId` and `packageDetail {packageReferenceId, carrierCode,
   carrierName, trackingNumber, shipDate, orderItems}`; 204 is success. `packageReferenceId` is
   the shipment's id (a positive number, the same on every push of it), so a repeat Amazon took
   edits that package instead of adding one. `carrierCode` is Amazon's name of the carrier
   (USPS, UPS, FedEx, DHL...), else "Other" with our carrier's name as `carrierName`.

push_cancellation: the Orders API has no call to cancel an order (a seller cancels in Seller
Central, or through an order-acknowledgement feed): refused, with that said. So the oversell
rule "cancel" cancels the order here and flags it for staff, who cancel it at Amazon.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from datetime import UTC
from typing import Any
from urllib.parse import quote

from django.utils import timezone

from fulfillment.models import Shipment
from integrations.accounts import AccountGateway, channel_line_ids, has_active_account
from integrations.amazon.client import AmazonClient
from integrations.amazon.poller import ORDERS_PATH
from integrations.models import ChannelAccount, ChannelKind
from orders.channels import CancellationPush, ChannelRefused, ChannelUnavailable, TrackingPush

logger = logging.getLogger(__name__)

# Our carrier name (letters and digits, lower case) -> Amazon's carrierCode.
CARRIER_CODES = {
    "usps": "USPS",
    "ups": "UPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "dhlexpress": "DHL",
    "ontrac": "OnTrac",
    "canadapost": "Canada Post",
    "royalmail": "Royal Mail",
    "amazonshipping": "Amazon Shipping",
}


def carrier_code(carrier: str) -> str:
    return CARRIER_CODES.get(re.sub(r"[^a-z0-9]", "", carrier.lower()), "Other")


def _ship_time(moment: Any) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class AmazonGateway(AccountGateway):
    channel = ChannelKind.AMAZON.value

    def _shipment(self, reference: str) -> tuple[str, str]:
        """(packageReferenceId, shipDate) for the shipment numbered `reference`."""
        shipment = (
            Shipment.objects.for_tenant(self.tenant).filter(number=reference).only("pk", "shipped_at").first()
        )
        if shipment is not None:
            return str(shipment.pk), _ship_time(shipment.shipped_at or timezone.now())
        number = int(hashlib.sha256(reference.encode()).hexdigest()[:12], 16) % 10**12 or 1
        return str(number), _ship_time(timezone.now())

    def push_tracking(self, *, push: TrackingPush) -> None:
        if not push.tracking_number:
            raise ChannelRefused("Amazon needs a tracking number to confirm a shipment.")
        account = self._account(push.order_external_id)
        client = AmazonClient(account, session=self.session)
        path_id = quote(push.order_external_id, safe="")
        data = client.call("getOrder", "GET", f"{ORDERS_PATH}/{path_id}", params={"includedData": "PACKAGES"})
        order = data.get("order") if isinstance(data, dict) else None
        if not isinstance(order, dict):
            raise ChannelUnavailable("Amazon answered getOrder without an order")
        for package in order.get("packages") or []:
            if isinstance(package, dict) and package.get("trackingNumber") == push.tracking_number:
                logger.info(
                    "Amazon order %s already has the package of %s", push.order_external_id, push.reference
                )
                return
        reference_id, ship_date = self._shipment(push.reference)
        code = carrier_code(push.carrier)
        body = {
            "marketplaceId": client.credentials.marketplace_id,
            "packageDetail": {
                "packageReferenceId": reference_id,
                "carrierCode": code,
                "carrierName": push.carrier or code,
                "trackingNumber": push.tracking_number,
                "shipDate": ship_date,
                "orderItems": [
                    {"orderItemId": item_id, "quantity": quantity}
                    for item_id, quantity in self._order_items(account, push, order).items()
                ],
            },
        }
        client.call("confirmShipment", "POST", f"/orders/v0/orders/{path_id}/shipmentConfirmation", body=body)

    def _order_items(
        self, account: ChannelAccount, push: TrackingPush, order: dict[str, Any]
    ) -> dict[str, int]:
        """Amazon order item id -> units of it in this shipment."""
        by_line = channel_line_ids(account, push.order_external_id)
        by_sku = {
            str((item.get("product") or {}).get("sellerSku") or ""): str(item.get("orderItemId") or "")
            for item in order.get("orderItems") or []
            if isinstance(item, dict)
        }
        chosen: dict[str, int] = defaultdict(int)
        for line in push.lines:
            item_id = by_line.get(line.order_line_id) or by_sku.get(line.sku)
            if not item_id:
                raise ChannelRefused(
                    f"Amazon order {push.order_external_id} has no order item for "
                    f"{line.quantity} × {line.sku}."
                )
            chosen[item_id] += line.quantity
        if not chosen:
            raise ChannelRefused("The shipment has no lines to confirm at Amazon.")
        return dict(chosen)

    def push_cancellation(self, *, push: CancellationPush) -> None:
        reason = push.reason or "none given"
        raise ChannelRefused(
            f"Amazon's Orders API cannot cancel an order: cancel order {push.order_external_id} in "
            f"Seller Central (our reason: {reason}).",
            code="amazon_cancel_unsupported",
        )


def amazon_gateway_for(tenant: Any) -> AmazonGateway | None:
    """The registry's factory: a gateway when the tenant has an active Amazon account."""
    return AmazonGateway(tenant) if has_active_account(tenant, ChannelKind.AMAZON) else None
