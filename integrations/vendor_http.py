"""One call to a vendor's HTTP API, and its answer classified the house's way (orders/channels.py).

Every connector's client sends through `http_send` and checks through `http_checked`, so a
vendor's answer means the same for every channel:

- a connection error or a timeout: `ChannelUnavailable("<vendor> unreachable: <error type>")`
  (the outcome is unknown: callers retry, and make their calls idempotent);
- 429: the connector's `throttled(response)` when it keeps a rate bucket (it raises
  `PollThrottled` with how long to wait), else `ChannelUnavailable`;
- 5xx: `ChannelUnavailable`;
- other 4xx: `ChannelRefused` with the vendor's own words (`refusal(text=...)`), or the
  connector's own refusal (a token endpoint's advice to reconnect the account);
- anything else: the response, for the caller to read (`http_json`).

Each message starts the vendor's way, `answered` with `{status}` standing for the status:
"Amazon answered {status} to getOrder", "eBay getOrders answered {status}".

Each error is counted for GET /metrics (`oms_vendor_errors_total{vendor, kind}`): `http_send`
names the vendor on the response it returns, for `http_checked` and `http_json`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import requests

from oms.metrics import VendorErrorKind, vendor_error, vendor_http_error_kind
from orders.channels import ChannelRefused, ChannelUnavailable

# refuse(response, what the vendor answered) -> the exception to raise for a 4xx
Refusal = Callable[[requests.Response, str], Exception]


def http_send(session: Any, method: str, url: str, *, vendor: str, **kwargs: Any) -> requests.Response:
    """`session.request(...)` (a Session, or the requests module); ChannelUnavailable when unreachable."""
    try:
        response: requests.Response = session.request(method, url, **kwargs)
    except requests.RequestException as exc:
        vendor_error(vendor, VendorErrorKind.UNREACHABLE)
        raise ChannelUnavailable(f"{vendor} unreachable: {type(exc).__name__}") from None
    response.oms_vendor = vendor  # type: ignore[attr-defined]
    return response


def _vendor_of(response: requests.Response) -> str:
    return getattr(response, "oms_vendor", "other")


def refusal(
    text: Callable[[requests.Response], str] | None = None,
    *,
    code: str = "channel_http_error",
    with_status: bool = False,
) -> Refusal:
    """A refusal that adds the vendor's words (`text(response)`, when any) to what it answered.

    `code` may hold `{status}`; `with_status` puts the status in the error's extra as
    `http_status`, for a caller that tells a 404 from other refusals.
    """

    def refuse(response: requests.Response, said: str) -> Exception:
        words = text(response) if text is not None else ""
        extra = {"http_status": response.status_code} if with_status else {}
        return ChannelRefused(
            f"{said}{': ' + words if words else ''}"[:500],
            code=code.replace("{status}", str(response.status_code)),
            **extra,
        )

    return refuse


def http_checked(
    response: requests.Response,
    *,
    answered: str,
    throttled: Callable[[requests.Response], NoReturn] | None = None,
    refused: Refusal | None = None,
) -> requests.Response:
    """The response when it is not an error; else raises as the module doc says."""
    status = response.status_code
    said = answered.replace("{status}", str(status))
    if status >= 400:
        vendor_error(_vendor_of(response), vendor_http_error_kind(status))
    if status == 429 and throttled is not None:
        throttled(response)
    if status == 429 or status >= 500:
        raise ChannelUnavailable(said)
    if status >= 400:
        raise (refused or refusal())(response, said)
    return response


def http_json(response: requests.Response, *, not_json: str) -> Any:
    """The response's JSON; ChannelUnavailable(`not_json`) when the body is not JSON."""
    try:
        return response.json()
    except ValueError:
        vendor_error(_vendor_of(response), VendorErrorKind.UNREADABLE)
        raise ChannelUnavailable(not_json) from None


def vendor_errors(response: requests.Response) -> list[Any]:
    """The `errors` list of an error answer's JSON object ([] when there is none)."""
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors if isinstance(errors, list) else []


def retry_after_seconds(value: str | None, default: float) -> float:
    """A `Retry-After` header's seconds (the delta form; a spent daily quota may say a long time)."""
    try:
        seconds = float(value) if value else default
    except ValueError:
        seconds = default
    return max(seconds, 1.0)
