"""Stripe's webhook verifier for POST /webhooks/stripe/<token>/ (see integrations/webhooks.py).

The raw body is verified with the account's signing secret (`Stripe-Signature`, HMAC-SHA256,
5-minute tolerance) before it is parsed; only then is it read as a JSON event with an id and
a type. Processing happens later, in a Celery task, from the stored raw body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import stripe

from integrations.models import ChannelAccount
from integrations.webhooks import DeliveryMalformed, DeliveryRejected, VerifiedDelivery

SIGNATURE_TOLERANCE_SECONDS = 300


def stripe_webhook_verify(
    account: ChannelAccount, raw: bytes, headers: Mapping[str, str]
) -> VerifiedDelivery:
    if not account.webhook_secret:
        raise DeliveryRejected("no webhook secret configured")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # not even signable text: unverified
        raise DeliveryRejected("body is not UTF-8") from exc
    try:
        stripe.WebhookSignature.verify_header(
            body,
            headers.get("Stripe-Signature", ""),
            account.webhook_secret,
            tolerance=SIGNATURE_TOLERANCE_SECONDS,
        )
    except stripe.SignatureVerificationError as exc:
        raise DeliveryRejected(f"signature: {exc.user_message or 'does not verify'}") from None
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise DeliveryMalformed(f"not JSON ({exc.__class__.__name__})") from None
    event_id = payload.get("id") if isinstance(payload, dict) else None
    event_type = payload.get("type") if isinstance(payload, dict) else None
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str) or not event_type:
        raise DeliveryMalformed("no event id or type")
    return VerifiedDelivery(event_id=event_id, event_type=event_type, body=body)
