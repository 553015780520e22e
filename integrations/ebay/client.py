"""A thin client of eBay's REST sell APIs for one account: a bearer token, a pace, and eBay's answers
turned into the house's errors.

- **Token.** Each call carries `Authorization: Bearer <user access token>` (auth.py). A 401 means
  the stored token is no good any more (revoked, or expired early): it is forgotten, a new one is
  bought with the refresh token, and the call is made once more; a second 401 is a refusal.
- **Pace.** eBay's quotas are calls per day per app and API, and a spent quota answers 429.
  Each operation takes a token from a conservative bucket per account (`integrations.ratelimit`,
  OPERATION_LIMITS) before it calls; an empty bucket raises `PollThrottled` without calling.
  A 429 empties the bucket, and when eBay says `Retry-After` the bucket stays empty that long,
  so the next poll (or task retry) waits instead of spending more of the quota.
- **Errors.** Connection errors, timeouts and 5xx are `ChannelUnavailable` (try again later);
  429 is `PollThrottled` (a `ChannelUnavailable`); 400, 403, 404 and other 4xx are
  `ChannelRefused` with eBay's message (repeating will not help).

`requests` with a 10 s timeout; the base URL is the account's (auth.ebay_base_url).
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import requests

from integrations.ebay.auth import ebay_access_token, ebay_base_url
from integrations.models import ChannelAccount
from integrations.polling import PollThrottled
from integrations.ratelimit import rate_take, rate_throttled
from integrations.tokens import access_token_forget
from integrations.vendor_http import (
    http_checked,
    http_json,
    http_send,
    refusal,
    retry_after_seconds,
    vendor_errors,
)
from orders.channels import ChannelUnavailable

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10

# operation -> (calls per second, burst). Conservative on purpose: eBay counts calls per day per
# app (shared by every tenant), e.g. getOrders at one per 10 s is at most 8,640 a day per account.
OPERATION_LIMITS: dict[str, tuple[float, int]] = {
    "getOrders": (0.1, 20),
    "getShippingFulfillments": (0.2, 10),
    "createShippingFulfillment": (0.2, 10),
    "bulkUpdatePriceQuantity": (0.2, 10),
}


def ebay_error_text(response: requests.Response) -> str:
    """eBay's own words from an error answer (`errors[].longMessage` / `message`), bounded."""
    texts = [
        str(e.get("longMessage") or e.get("message") or e.get("errorId") or "")
        for e in vendor_errors(response)
        if isinstance(e, dict)
    ]
    return "; ".join(t for t in texts if t)[:300]


def _refusal_text(response: requests.Response) -> str:
    text = ebay_error_text(response)
    if response.status_code == 401:
        return text or "the access token was refused after a refresh"
    return text


class EbayClient:
    def __init__(self, account: ChannelAccount, *, session: requests.Session | None = None) -> None:
        self.account = account
        self.base = ebay_base_url(account)
        self.session = session or requests.Session()

    def call(self, method: str, path: str, *, operation: str, json: Any = None) -> requests.Response:
        """One call to `{base}{path}` (path with its query, already encoded). Returns a 2xx answer."""
        rate, burst = OPERATION_LIMITS[operation]
        wait = rate_take(self.account, operation, rate=rate, burst=burst)
        if wait > 0:
            raise PollThrottled(
                f"eBay {operation}: this account's call budget is spent; next call in {wait:.0f} s",
                retry_after=wait,
            )
        response = self._send(method, path, json)
        if response.status_code == 401:
            access_token_forget(self.account)  # the stored token is no good: buy a new one, once
            response = self._send(method, path, json)
        return self._checked(response, operation, rate=rate, burst=burst)

    def _send(self, method: str, path: str, json: Any) -> requests.Response:
        token = ebay_access_token(self.account, session=self.session)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if json is not None:
            headers["Content-Type"] = "application/json"
        return http_send(
            self.session,
            method,
            self.base + path,
            vendor="eBay",
            json=json,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
        )

    def _checked(
        self, response: requests.Response, operation: str, *, rate: float, burst: int
    ) -> requests.Response:
        def throttled(answer: requests.Response) -> NoReturn:
            header = answer.headers.get("Retry-After")
            hold = retry_after_seconds(header, 0.0) if header else None
            wait = rate_throttled(self.account, operation, rate=rate, burst=burst, hold_seconds=hold)
            text = ebay_error_text(answer)
            raise PollThrottled(
                f"eBay {operation} answered 429{': ' + text if text else ''}; next call in {wait:.0f} s",
                retry_after=wait,
            )

        return http_checked(
            response,
            answered=f"eBay {operation} answered {{status}}",
            throttled=throttled,
            refused=refusal(_refusal_text),
        )

    def json_of(self, response: requests.Response, operation: str) -> dict[str, Any]:
        """A 2xx answer's JSON object ({} for an empty body)."""
        if not response.content:
            return {}
        body = http_json(response, not_json=f"eBay {operation} answered something that is not JSON")
        if not isinstance(body, dict):
            raise ChannelUnavailable(f"eBay {operation} answered JSON that is not an object")
        return body
