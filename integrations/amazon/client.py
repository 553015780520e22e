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
from typing import Any, NoReturn

import requests

from integrations.amazon.auth import access_token, api_base_url, credentials_of
from integrations.models import ChannelAccount
from integrations.polling import PollThrottled
from integrations.ratelimit import rate_take, rate_throttled, vendor_rate_of
from integrations.tokens import access_token_forget
from integrations.vendor_http import http_checked, http_json, http_send, refusal, vendor_errors

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
    parts = []
    for error in vendor_errors(response)[:3]:
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
        return http_send(
            self.session,
            method,
            self.base_url + path,
            vendor="Amazon",
            params=params,
            json=body,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
        )

    def _answer(self, operation: str, response: requests.Response) -> Any:
        http_checked(
            response,
            answered=f"Amazon answered {{status}} to {operation}",
            throttled=lambda answer: self._throttled(operation, answer),
            refused=refusal(amazon_error_text, code="amazon_http_{status}"),
        )
        if response.status_code == 204 or not response.content:
            return None
        return http_json(response, not_json=f"Amazon answered {operation} with something that is not JSON")

    def _throttled(self, operation: str, response: requests.Response) -> NoReturn:
        """A 429: the bucket is emptied (at the rate Amazon names, when it does) and the call waits."""
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
