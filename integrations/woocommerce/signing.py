"""WooCommerce's webhook signature, stdlib only (the verifier and the fake shop both use it).

`X-WC-Webhook-Signature` = base64(HMAC-SHA256(key = the webhook secret, message = the raw body)).
WooCommerce keys the HMAC with `wp_specialchars_decode(secret, ENT_QUOTES)` (core's
`WC_Webhook::generate_signature`): the secret as the shop stores it, with the HTML entities of
`& < > " '` turned back into characters. A secret typed with an `&` may be stored as `&amp;`;
decoding it the same way here makes either spelling, pasted into our account, verify.
"""

from __future__ import annotations

import re

from integrations.signing import hmac_sha256_base64

# wp_specialchars_decode with ENT_QUOTES: first zero-padded numeric entities are normalised,
# then one left-to-right pass replaces the longest entity found at each place (PHP's strtr).
_NORMALISE = (
    (re.compile(r"&#0*39;"), "&#039;"),
    (re.compile(r"&#x0*27;", re.IGNORECASE), "&#x27;"),
    (re.compile(r"&#0*34;"), "&#034;"),
    (re.compile(r"&#x0*22;", re.IGNORECASE), "&#x22;"),
    (re.compile(r"&#0*60;"), "&#060;"),
    (re.compile(r"&#0*62;"), "&#062;"),
    (re.compile(r"&#0*38;"), "&#038;"),
    (re.compile(r"&#x0*26;", re.IGNORECASE), "&#x26;"),
)
_TRANSLATION = {
    "&#039;": "'",
    "&#x27;": "'",
    "&quot;": '"',
    "&#034;": '"',
    "&#x22;": '"',
    "&lt;": "<",
    "&#060;": "<",
    "&gt;": ">",
    "&#062;": ">",
    "&amp;": "&",
    "&#038;": "&",
    "&#x26;": "&",
}
_ENTITY = re.compile("|".join(re.escape(k) for k in sorted(_TRANSLATION, key=len, reverse=True)))


def wp_specialchars_decode(text: str) -> str:
    """WordPress's `wp_specialchars_decode(text, ENT_QUOTES)`."""
    if "&" not in text:
        return text
    for pattern, replacement in _NORMALISE:
        text = pattern.sub(replacement, text)
    return _ENTITY.sub(lambda m: _TRANSLATION[m.group(0)], text)


def woocommerce_signature(secret: str, raw: bytes) -> str:
    """The `X-WC-Webhook-Signature` WooCommerce sends for `raw` with webhook secret `secret`."""
    return hmac_sha256_base64(wp_specialchars_decode(secret), raw)
