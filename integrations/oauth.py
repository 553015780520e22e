"""The refresh grant of a polled marketplace (Amazon's LWA, eBay's identity API), and its credentials.

Both take the same form POST, `grant_type=refresh_token&refresh_token=...` (each vendor adds its
own client authentication and fields), and answer `{"access_token", "expires_in"}`, or when
refused `{"error", "error_description"}`. `refresh_grant` sends it and reads the answer:

- unreachable, 5xx, 429: `ChannelUnavailable` (a connector with a `throttled` raises its own
  `PollThrottled` for 429), as `integrations.vendor_http` classifies every vendor answer;
- another 4xx (a revoked refresh token, wrong app keys): the connector's `refused(error,
  description)`, its advice to staff, never the secrets;
- an answer without a token: `ChannelUnavailable`; without a lifetime: `default_lifetime`.

The token is then kept on the account by `integrations.tokens.access_token_get`.
`credentials_json(account)` reads the account's credentials as the JSON object they hold.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import requests

from integrations.models import ChannelAccount
from integrations.vendor_http import http_checked, http_send
from orders.channels import ChannelUnavailable

TIMEOUT_SECONDS = 10


def credentials_json(account: ChannelAccount) -> dict[str, Any] | None:
    """The account's credentials as a JSON object; None when they are not one."""
    try:
        data = json.loads(account.credentials or "")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _answer_of(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def refresh_grant(
    session: Any,
    url: str,
    *,
    name: str,
    form: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
    refused: Callable[[str, str], Exception],
    default_lifetime: int,
    throttled: Callable[[requests.Response], NoReturn] | None = None,
) -> tuple[str, int]:
    """(access token, lifetime in seconds) from `url`; `name` is how messages call the endpoint."""
    response = http_send(
        session,
        "POST",
        url,
        vendor=name,
        data={"grant_type": "refresh_token", **form},
        headers={**(headers or {}), "Accept": "application/json"},
        timeout=TIMEOUT_SECONDS,
    )

    def refusal(answer: requests.Response, said: str) -> Exception:
        body = _answer_of(answer)
        return refused(str(body.get("error") or answer.status_code), str(body.get("error_description") or ""))

    http_checked(response, answered=f"{name} answered {{status}}", throttled=throttled, refused=refusal)
    body = _answer_of(response)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ChannelUnavailable(f"{name} answered without an access token")
    try:
        lifetime = int(body.get("expires_in") or default_lifetime)
    except (TypeError, ValueError):
        lifetime = default_lifetime
    return token, lifetime
