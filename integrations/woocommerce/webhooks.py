"""WooCommerce's webhook verifier for POST /webhooks/woocommerce/<token>/ (see integrations/webhooks.py).

A delivery carries the REST v3 resource as its JSON body and these headers (WooCommerce's
`WC_Webhook::deliver`): `X-WC-Webhook-Signature` (base64 HMAC-SHA256 of the raw body, see
signing.py), `X-WC-Webhook-Topic` (`order.created`, `order.updated`, `order.deleted`,
`order.restored`), `X-WC-Webhook-Delivery-ID`, `X-WC-Webhook-ID`, `X-WC-Webhook-Source`.

- The ping WooCommerce sends when a webhook is saved (form body `webhook_id=<n>`, unsigned;
  the webhook is not activated unless it is answered 200) raises `DeliveryPing`: answered 200,
  nothing stored.
- No secret, no signature, a wrong one (compared in constant time) raise `DeliveryRejected`.
- Signed, but not a JSON object, or without a topic or a delivery id: `DeliveryMalformed`.

The event id. WooCommerce's delivery id is `wp_hash(webhook id . the current second)`: one
webhook that fires twice in the same second (two orders marked completed together) sends two
different bodies under one delivery id. Deduplicating on it alone would drop the second, so
the event id is the delivery id plus a digest of the body: the same delivery sent again is
one event, two events that share a second are two.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from integrations.models import ChannelAccount
from integrations.webhooks import (
    DeliveryPing,
    VerifiedDelivery,
    delivery_header,
    delivery_json_object,
    delivery_required_header,
    delivery_signature_check,
)
from integrations.woocommerce.signing import woocommerce_signature

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
DELIVERY_ID_HEADER = "X-WC-Webhook-Delivery-ID"
OLD_DELIVERY_ID_HEADER = "X-WC-Delivery-ID"  # older WooCommerce docs
_PING = re.compile(rb"^\s*webhook_id=\d+\s*$")


def woocommerce_event_id(delivery_id: str, raw: bytes) -> str:
    """The inbox's event id of a delivery: its delivery id and the body's digest (see above)."""
    return f"{delivery_id[:200]}:{hashlib.sha256(raw).hexdigest()[:32]}"


def woocommerce_webhook_verify(
    account: ChannelAccount, raw: bytes, headers: Mapping[str, str]
) -> VerifiedDelivery:
    if not delivery_header(headers, SIGNATURE_HEADER) and _PING.match(raw):
        raise DeliveryPing
    delivery_signature_check(
        account.webhook_secret, raw, headers, header=SIGNATURE_HEADER, sign=woocommerce_signature
    )
    body, _ = delivery_json_object(raw)
    topic = delivery_required_header(headers, TOPIC_HEADER)
    delivery_id = delivery_required_header(headers, DELIVERY_ID_HEADER, OLD_DELIVERY_ID_HEADER)
    return VerifiedDelivery(event_id=woocommerce_event_id(delivery_id, raw), event_type=topic, body=body)
