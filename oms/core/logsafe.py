"""Log filters that keep secrets out of the logs (wired in settings.LOGGING).

- `VendorPayloadFilter`, on the `stripe` logger: the SDK logs each request's parameters and
  each response body at DEBUG. Bodies carry PaymentIntent client secrets, customers'
  addresses and, for webhook endpoints, signing secrets, so those lines are dropped; the
  request line and the status (INFO) stay.
- `WebhookTokenFilter`, on `django.request`: the token in a webhook URL is a credential, so
  Django's "Bad Request: /webhooks/stripe/<token>/" lines keep only its first characters.
"""

from __future__ import annotations

import logging
import re

PAYLOAD_MESSAGES = ("message='Post details'", "message='API response body'")
_WEBHOOK_TOKEN = re.compile(r"(/webhooks/[\w-]+/)([A-Za-z0-9_-]{4})[^/\s]*")


class VendorPayloadFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not any(marker in message for marker in PAYLOAD_MESSAGES)


def mask_webhook_tokens(text: str) -> str:
    return _WEBHOOK_TOKEN.sub(r"\1\2…", text)


class WebhookTokenFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_webhook_tokens(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
