"""A thin SP-API client: a token from the account's bucket before every call, errors in our words.

Amazon limits each operation with a token bucket (a rate in requests per second and a burst);
`OPERATIONS` holds the documented defaults. Before each call the client takes a token from the
account's bucket for that operation (`integrations/ratelimit.py`, shared by every worker): a
wait up to MAX_SLEEP_SECONDS is slept, a longer one raises `PollThrottled` (nothing is sent; the
poll, push or publish is tried again later). A 429 empties the bucket, and the rate Amazon names
in `x-amzn-RateLimit-Limit` is used from then on.

Answers:
- 2xx: the JSON body (None for 204);
- 401/403: the access token is dropped and fetched again, and the call is made once more; a
  second refusal is `ChannelRefused`;
- 429: `PollThrottled` (a `ChannelUnavailable`); 5xx, timeouts, connection errors:
  `ChannelUnavailable` (the outcome is unknown: callers retry, and make their calls idempotent);
- other 4xx (400 invalid input, 404 unknown order...): `ChannelRefused` with Amazon's message,
  code `amazon_http_<status>`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from integrations.amazon.auth import access_token, api_base_url, credentials_of
from integrations.models import ChannelAccount
from integrations.polling import PollThrottled
from integrations.ratelimit import rate_take, rate_throttled, vendor_rate_of
from integrations.tokens import access_token_forget
from orders.channels import ChannelRefused, ChannelUnavailable

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
MAX_SLEEP_SECONDS = 2.0
RATE_HEADER = "x-amzn-RateLimit-Limit"


@dataclass(frozen=True)
class Limit:
    rate: float  # requests per second
    burst: int


# The documented default usage plans (Orders API v2026-01-01 and v0, Listings Items 2021-08-01).
OPERATIONS: dict[str, Limit] = {
    "searchOrders": Limit(0.0056, 20),
    "getOrder": Limit(0.5, 30),
    "confirmShipment": Limit(2.0, 10),
    "patchListingsItem": Limit(5.0, 10),
}


def amazon_error_text(response: requests.Response) -> str:
    """Amazon's `{"errors": [{"code", "message", "details"}]}` as one short line."""
    try:
        body = response.json()
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            text = ": ".join(str(error[k]) for k in ("code", "message") if error.get(k))
            if error.get("details"):
                text += f" ({error['details']})"
            parts.append(text)
    return "; ".join(parts)[:300]


class AmazonClient:
    """One account's calls to the SP-API."""

    def __init__(
        self,
        account: ChannelAccount,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.account = account
        self.credentials = credentials_of(account)
        self.base_url = api_base_url(account)
        self.session = session or requests.Session()
        self.sleep = sleep

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        """Make one SP-API call within the operation's limits; the answer's JSON, or None."""
        for attempt in (1, 2):
            self._take(operation)
            response = self._send(method, path, params=params, body=body)
            if response.status_code in (401, 403) and attempt == 1:
                logger.info("Amazon refused the access token of account %s; refreshing it", self.account.pk)
                access_token_forget(self.account)
                continue
            return self._answer(operation, response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _take(self, operation: str) -> None:
        limit = OPERATIONS[operation]
        wait = 0.0
        for _ in range(3):
            wait = rate_take(self.account, operation, rate=limit.rate, burst=limit.burst)
            if wait <= 0:
                return
            if wait > MAX_SLEEP_SECONDS:
                break
            self.sleep(wait)
        raise PollThrottled(
            f"Amazon {operation}: the rate limit allows the next call in {wait:.0f} s", retry_after=wait
        )

    def _send(self, method: str, path: str, *, params: dict[str, str] | None, body: Any) -> requests.Response:
        headers = {
            "x-amz-access-token": access_token(self.account, self.session),
            "Accept": "application/json",
            "User-Agent": "oms/1.0 (Language=Python)",
        }
        try:
            return self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise ChannelUnavailable(f"Amazon unreachable: {type(exc).__name__}") from None

    def _answer(self, operation: str, response: requests.Response) -> Any:
        status = response.status_code
        if status == 429:
            header = response.headers.get(RATE_HEADER)
            limit = OPERATIONS[operation]
            wait = rate_throttled(
                self.account,
                operation,
                rate=limit.rate,
                burst=limit.burst,
                vendor_rate=vendor_rate_of(header),
            )
            raise PollThrottled(
                f"Amazon answered 429 to {operation} ({RATE_HEADER}: {header or 'not given'}); "
                f"the next call in {wait:.0f} s",
                retry_after=wait,
            )
        if status >= 500:
            raise ChannelUnavailable(f"Amazon answered {status} to {operation}")
        if status >= 400:
            text = amazon_error_text(response)
            raise ChannelRefused(
                f"Amazon answered {status} to {operation}{': ' + text if text else ''}",
                code=f"amazon_http_{status}",
            )
        if status == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ChannelUnavailable(f"Amazon answered {operation} with something that is not JSON") from None
