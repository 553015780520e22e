"""Webhook signatures, stdlib only: the verifiers and the vendor fakes sign the same way.

Shopify's `X-Shopify-Hmac-Sha256` and WooCommerce's `X-WC-Webhook-Signature` are both
base64(HMAC-SHA256(key, raw body)) (each vendor derives the key its own way); Shippo's
`v1=` is the hex digest over "<timestamp>." + body. `signature_matches` compares in constant
time, as bytes, so a header with characters outside ASCII is a mismatch, not an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def _key(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else key


def hmac_sha256_base64(key: str | bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(_key(key), message, hashlib.sha256).digest()).decode("ascii")


def hmac_sha256_hex(key: str | bytes, message: bytes) -> str:
    return hmac.new(_key(key), message, hashlib.sha256).hexdigest()


def signature_matches(expected: str, given: str) -> bool:
    """True when `given` (a header's value) is `expected`, compared in constant time."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))
