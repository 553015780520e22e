"""Shippo's webhook verifier for POST /webhooks/shippo/<token>/ (see integrations/webhooks.py).

Authentication, per Shippo's webhook security page (integrations.md 2.3):
- The URL token: the shared view found the account by it, so a delivery that reaches this
  verifier was sent to the URL we gave Shippo. That is Shippo's default protection, and
  enough on its own for an account without a webhook secret.
- HMAC, opt-in at Shippo: when the account has a webhook secret, the delivery must also carry
  a signature that verifies with it. The header's name and format are not officially
  documented (`Shippo-Auth-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
  is what public implementations check), so the check is pluggable:
  `register_shippo_signature_check(check)` replaces `shippo_signature_check`.

Shippo's deliveries carry no event id, and track_updated repeats. The event id is built from
what makes a tracking status one status: `track:<carrier>:<tracking number>:<status>:<status
date>`, so the inbox keeps a repeat as one more delivery of the first row. Other events (a
transaction_updated...) get the body's hash; the handler ignores them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from integrations.models import ChannelAccount
from integrations.signing import hmac_sha256_hex, signature_matches
from integrations.webhooks import DeliveryMalformed, DeliveryRejected, VerifiedDelivery, delivery_json

SIGNATURE_HEADER = "Shippo-Auth-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
TRACK_UPDATED = "track_updated"

# check(secret, raw body, headers): returns when the delivery is signed with `secret`, else raises
# DeliveryRejected with a short reason (never the header's value).
SignatureCheck = Callable[[str, bytes, Mapping[str, str]], None]


def shippo_signature_check(secret: str, raw: bytes, headers: Mapping[str, str]) -> None:
    """`Shippo-Auth-Signature: t=<ts>,v1=<hex>[,v1=<hex>]`, HMAC-SHA256 over "<ts>." + body, fresh."""
    header = headers.get(SIGNATURE_HEADER, "")
    if not header:
        raise DeliveryRejected("no Shippo-Auth-Signature header")
    timestamp, signatures = "", []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if not timestamp.isdigit() or not signatures:
        raise DeliveryRejected("signature header is not t=...,v1=...")
    if abs(time.time() - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        raise DeliveryRejected("signature timestamp outside the tolerance")
    expected = hmac_sha256_hex(secret, timestamp.encode() + b"." + raw)
    if not any(signature_matches(expected, candidate) for candidate in signatures):
        raise DeliveryRejected("signature does not verify")


_check: list[SignatureCheck] = [shippo_signature_check]


def register_shippo_signature_check(check: SignatureCheck) -> SignatureCheck:
    """Use `check` for accounts with a webhook secret; returns the one it replaces."""
    previous = _check[0]
    _check[0] = check
    return previous


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def track_event_id(data: Mapping[str, Any]) -> str:
    """The inbox id of a track_updated delivery: one tracking status of one parcel."""
    status = data.get("tracking_status") or {}
    parts = [
        _text(data.get("carrier")).lower(),
        _text(data.get("tracking_number")),
        _text(status.get("status")).upper(),
        _text(status.get("status_date")) or _text(status.get("object_id")),
    ]
    event_id = "track:" + ":".join(parts)
    if len(event_id) > 255:
        event_id = "track:" + hashlib.sha256(event_id.encode()).hexdigest()
    return event_id


def shippo_webhook_verify(
    account: ChannelAccount, raw: bytes, headers: Mapping[str, str]
) -> VerifiedDelivery:
    if account.webhook_secret:
        _check[0](account.webhook_secret, raw, headers)
    body, payload = delivery_json(raw)
    event_type = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event_type, str) or not event_type:
        raise DeliveryMalformed("no event type")
    if event_type != TRACK_UPDATED:
        return VerifiedDelivery(
            event_id=f"{event_type[:40]}:{hashlib.sha256(raw).hexdigest()}", event_type=event_type, body=body
        )
    data = payload.get("data")
    status = data.get("tracking_status") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(status, dict):
        raise DeliveryMalformed("track_updated without data.tracking_status")
    missing = [
        name
        for name, value in (
            ("data.carrier", data.get("carrier")),
            ("data.tracking_number", data.get("tracking_number")),
            ("data.tracking_status.status", status.get("status")),
        )
        if not _text(value)
    ]
    if missing:
        raise DeliveryMalformed("track_updated without " + ", ".join(missing))
    return VerifiedDelivery(event_id=track_event_id(data), event_type=event_type, body=body)
