"""Shopify's webhook verifier for POST /webhooks/shopify/<token>/ (see integrations/webhooks.py).

`X-Shopify-Hmac-Sha256` is base64(HMAC-SHA256(key = the app's client secret, the account's
webhook secret; message = the raw body)). It is checked in constant time before anything is
parsed. The event is named by `X-Shopify-Event-Id` (Shopify's guidance: the same id on two
deliveries means a duplicate), else `X-Shopify-Webhook-Id`; its type is `X-Shopify-Topic`.
"""

from __future__ import annotations

from collections.abc import Mapping

from integrations.models import ChannelAccount
from integrations.signing import hmac_sha256_base64
from integrations.webhooks import (
    VerifiedDelivery,
    delivery_json_object,
    delivery_required_header,
    delivery_signature_check,
)

SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"


def shopify_signature(secret: str, raw: bytes) -> str:
    """The header value Shopify sends for `raw` signed with `secret`."""
    return hmac_sha256_base64(secret, raw)


def shopify_webhook_verify(
    account: ChannelAccount, raw: bytes, headers: Mapping[str, str]
) -> VerifiedDelivery:
    delivery_signature_check(
        account.webhook_secret, raw, headers, header=SIGNATURE_HEADER, sign=shopify_signature
    )
    body, _ = delivery_json_object(raw)
    topic = delivery_required_header(headers, TOPIC_HEADER)
    event_id = delivery_required_header(headers, EVENT_ID_HEADER, WEBHOOK_ID_HEADER)
    return VerifiedDelivery(event_id=event_id, event_type=topic, body=body)
