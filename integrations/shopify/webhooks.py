"""Shopify's webhook verifier for POST /webhooks/shopify/<token>/ (see integrations/webhooks.py).

`X-Shopify-Hmac-Sha256` is base64(HMAC-SHA256(key = the app's client secret, the account's
webhook secret; message = the raw body)). It is checked in constant time before anything is
parsed. The event is named by `X-Shopify-Event-Id` (Shopify's guidance: the same id on two
deliveries means a duplicate), else `X-Shopify-Webhook-Id`; its type is `X-Shopify-Topic`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from integrations.models import ChannelAccount
from integrations.webhooks import DeliveryMalformed, DeliveryRejected, VerifiedDelivery

SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"


def shopify_signature(secret: str, raw: bytes) -> str:
    """The header value Shopify sends for `raw` signed with `secret`."""
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def shopify_webhook_verify(
    account: ChannelAccount, raw: bytes, headers: Mapping[str, str]
) -> VerifiedDelivery:
    if not account.webhook_secret:
        raise DeliveryRejected("no webhook secret configured")
    signature = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not signature:
        raise DeliveryRejected(f"no {SIGNATURE_HEADER} header")
    if not hmac.compare_digest(shopify_signature(account.webhook_secret, raw), signature):
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
    event_id = (headers.get(EVENT_ID_HEADER) or headers.get(WEBHOOK_ID_HEADER) or "").strip()
    if not event_id:
        raise DeliveryMalformed(f"no {EVENT_ID_HEADER} header")
    return VerifiedDelivery(event_id=event_id, event_type=topic, body=body)
