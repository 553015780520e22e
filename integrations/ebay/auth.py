"""eBay OAuth: the account's long-lived refresh token buys short-lived user access tokens.

The account's `credentials` hold JSON, written once by staff in the admin (encrypted at rest):

    {"client_id": "<App ID>", "client_secret": "<Cert ID>", "refresh_token": "v^1.1#...",
     "scopes": ["https://api.ebay.com/oauth/api_scope/sell.fulfillment", ...]}   # scopes optional

The refresh grant (eBay's "Refreshing a User access token"):
`POST {base}/identity/v1/oauth2/token` with `Authorization: Basic base64(client_id:client_secret)`
and the form `grant_type=refresh_token&refresh_token=...&scope=<space-separated scopes>`, answered
`{"access_token", "expires_in" (about 7200 s), "token_type": "User Access Token"}`. The token is
kept (encrypted) on the account by `integrations.tokens.access_token_get` until it nearly expires.
A refused refresh token (`400 invalid_grant`: revoked, expired after its ~18 months, or issued
to another app) is a `ChannelRefused`: staff must reconnect the account; retrying cannot help.

`base` is the account's base URL (a sandbox, the local fake) when settings allow it, else
https://api.ebay.com; the identity and the sell APIs share it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import NoReturn

import requests

from integrations.endpoints import effective_base_url
from integrations.models import ChannelAccount
from integrations.oauth import credentials_json, refresh_grant
from integrations.polling import PollThrottled
from integrations.tokens import access_token_get
from integrations.vendor_http import retry_after_seconds
from orders.channels import ChannelRefused

API_HOST = "https://api.ebay.com"
TOKEN_PATH = "/identity/v1/oauth2/token"
SCOPE_FULFILLMENT = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
SCOPE_INVENTORY = "https://api.ebay.com/oauth/api_scope/sell.inventory"
DEFAULT_SCOPES = (SCOPE_FULFILLMENT, SCOPE_INVENTORY)


@dataclass(frozen=True)
class EbayCredentials:
    client_id: str
    client_secret: str
    refresh_token: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES


def ebay_credentials(account: ChannelAccount) -> EbayCredentials:
    """The account's app keys and refresh token; a refusal (never the values) when they are unusable."""
    data = credentials_json(account)
    if data is None:
        raise ChannelRefused(
            f"eBay account {account.pk}: the credentials must be JSON with client_id, client_secret "
            "and refresh_token."
        )
    missing = [k for k in ("client_id", "client_secret", "refresh_token") if not str(data.get(k) or "")]
    if missing:
        raise ChannelRefused(f"eBay account {account.pk}: the credentials have no {', '.join(missing)}.")
    scopes = data.get("scopes") or DEFAULT_SCOPES
    if isinstance(scopes, str):
        scopes = scopes.split()
    return EbayCredentials(
        client_id=str(data["client_id"]),
        client_secret=str(data["client_secret"]),
        refresh_token=str(data["refresh_token"]),
        scopes=tuple(str(s) for s in scopes),
    )


def ebay_base_url(account: ChannelAccount) -> str:
    """Where the account's calls go: its allowed base URL, else eBay's production host."""
    return (effective_base_url(account) or API_HOST).rstrip("/")


def _refused(error: str, description: str) -> ChannelRefused:
    said = f"{error}{': ' + description if description else ''}"
    if error == "invalid_client":
        text = f"eBay refused the account's app keys ({said}); check its client_id and client_secret."
    else:
        text = (
            f"eBay refused the account's refresh token ({said}); "
            "reconnect the eBay account and save its new refresh token."
        )
    return ChannelRefused(text, code="channel_auth_refused")


def _throttled(response: requests.Response) -> NoReturn:
    wait = retry_after_seconds(response.headers.get("Retry-After"), 60.0)
    raise PollThrottled("eBay's token endpoint answered 429", retry_after=wait)


def ebay_token_fetch(account: ChannelAccount, *, session: requests.Session) -> tuple[str, int]:
    """Buy a user access token with the refresh token: (token, lifetime in seconds)."""
    creds = ebay_credentials(account)
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    return refresh_grant(
        session,
        ebay_base_url(account) + TOKEN_PATH,
        name="eBay's token endpoint",
        form={"refresh_token": creds.refresh_token, "scope": " ".join(creds.scopes)},
        headers={"Authorization": f"Basic {basic}"},
        refused=_refused,
        default_lifetime=0,
        throttled=_throttled,
    )


def ebay_access_token(account: ChannelAccount, *, session: requests.Session) -> str:
    """A user access token for the account: the stored one while fresh, else a new one (stored)."""
    return access_token_get(account, lambda: ebay_token_fetch(account, session=session))
