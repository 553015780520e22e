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
import hmac
import json
import re
from collections.abc import Mapping

from integrations.models import ChannelAccount
from integrations.webhooks import DeliveryMalformed, DeliveryPing, DeliveryRejected, VerifiedDelivery
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
    signature = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not signature and _PING.match(raw):
        raise DeliveryPing
    if not account.webhook_secret:
        raise DeliveryRejected("no webhook secret configured")
    if not signature:
        raise DeliveryRejected(f"no {SIGNATURE_HEADER} header")
    expected = woocommerce_signature(account.webhook_secret, raw).encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise DeliveryRejected("signature does not verify")
    try:
        body = raw.decode("utf-8")
        payload = json.loads(body)
    except UnicodeDecodeError:
        raise DeliveryMalformed("body is not UTF-8") from None
    except ValueError as exc:
        raise DeliveryMalformed(f"not JSON ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict):
        raise DeliveryMalformed("the body is not a JSON object")
    topic = (headers.get(TOPIC_HEADER) or "").strip()
    if not topic:
        raise DeliveryMalformed(f"no {TOPIC_HEADER} header")
    delivery_id = (headers.get(DELIVERY_ID_HEADER) or headers.get(OLD_DELIVERY_ID_HEADER) or "").strip()
    if not delivery_id:
        raise DeliveryMalformed(f"no {DELIVERY_ID_HEADER} header")
    return VerifiedDelivery(event_id=woocommerce_event_id(delivery_id, raw), event_type=topic, body=body)
