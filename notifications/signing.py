"""How a delivery is signed (docs/webhooks-outbound.md gives the receiver's side).

Header `OMS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where the HMAC key is the
endpoint's secret (UTF-8) and the message is `f"{t}.{raw body}"` (the body's exact bytes).
A receiver recomputes it, compares in constant time, and refuses a timestamp older than its
tolerance (TOLERANCE_SECONDS here) so a captured delivery cannot be replayed later by others.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "OMS-Signature"
EVENT_HEADER = "OMS-Event-Id"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, t, body)}"


def signature_verify(
    secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """Whether `header` signs `body` with `secret`, within `tolerance` seconds of now."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, t, body), parts.get("v1", ""))
