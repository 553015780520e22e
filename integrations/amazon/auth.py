"""An Amazon account's credentials, and its Login with Amazon (LWA) access tokens.

The account's `credentials` (encrypted at rest, write-only in the admin) is a JSON object::

    {"refresh_token": "Atzr|...", "client_id": "amzn1.application-oa2-client...",
     "client_secret": "...", "seller_id": "A2EXAMPLE", "marketplace_id": "ATVPDKIKX0DER"}

plus, optionally, `"product_type"` (the Amazon product type sent with stock updates; default
"PRODUCT"). The refresh token comes from authorising the app for the seller; the client id and
secret are the app's LWA credentials.

Every SP-API call carries an access token (`x-amz-access-token`) that lives about an hour. It is
got with the refresh token::

    POST {LWA}/auth/o2/token  grant_type=refresh_token&refresh_token=..&client_id=..&client_secret=..
    -> {"access_token": "Atza|...", "token_type": "bearer", "expires_in": 3600}

and kept on the account (encrypted) until shortly before it expires (`integrations/tokens.py`).
LWA is https://api.amazon.com for every region; an account whose `base_url` names a host that is
not Amazon's (a local fake, a test proxy) gets its tokens from that host too.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from integrations.endpoints import effective_base_url
from integrations.models import ChannelAccount
from integrations.oauth import credentials_json, refresh_grant
from integrations.tokens import access_token_get
from orders.channels import ChannelRefused

LWA_URL = "https://api.amazon.com"
LWA_TOKEN_PATH = "/auth/o2/token"
SP_API_URL = "https://sellingpartnerapi-na.amazon.com"
REQUIRED = ("refresh_token", "client_id", "client_secret", "seller_id", "marketplace_id")


@dataclass(frozen=True)
class AmazonCredentials:
    refresh_token: str
    client_id: str
    client_secret: str
    seller_id: str
    marketplace_id: str
    product_type: str = "PRODUCT"

    def __repr__(self) -> str:  # never the secrets
        return f"<AmazonCredentials seller={self.seller_id} marketplace={self.marketplace_id}>"


def credentials_of(account: ChannelAccount) -> AmazonCredentials:
    """The account's credentials; ChannelRefused (nothing sent) when they are not usable."""
    data = credentials_json(account)
    if data is None:
        raise ChannelRefused(
            f"Amazon account {account.pk}: the credentials are not a JSON object (see docs/amazon.md).",
            code="amazon_credentials",
        )
    missing = [key for key in REQUIRED if not str(data.get(key) or "").strip()]
    if missing:
        raise ChannelRefused(
            f"Amazon account {account.pk}: the credentials lack {', '.join(missing)}.",
            code="amazon_credentials",
        )
    return AmazonCredentials(
        **{key: str(data[key]).strip() for key in REQUIRED},
        product_type=str(data.get("product_type") or "PRODUCT").strip(),
    )


def _is_amazon_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "amazon.com" or host.endswith(".amazon.com")


def api_base_url(account: ChannelAccount) -> str:
    """The SP-API endpoint: the account's base URL (a region, the sandbox, a fake), else North America."""
    return effective_base_url(account).rstrip("/") or SP_API_URL


def lwa_base_url(account: ChannelAccount) -> str:
    """Amazon's LWA for Amazon's hosts; the account's own host otherwise (the fake serves both)."""
    base = effective_base_url(account).rstrip("/")
    return LWA_URL if not base or _is_amazon_host(base) else base


def lwa_token_fetch(account: ChannelAccount, session: requests.Session | None = None) -> tuple[str, int]:
    """A new access token and its lifetime in seconds, from the refresh token.

    LWA down, 429 or 5xx: ChannelUnavailable. A refused grant (revoked or wrong refresh token,
    wrong client id or secret): ChannelRefused with LWA's error code, never the secrets.
    """
    creds = credentials_of(account)

    def refused(error: str, description: str) -> ChannelRefused:
        text = description[:200]
        return ChannelRefused(
            f"Amazon LWA refused the refresh token ({error}{': ' + text if text else ''}); "
            "authorise the app again and save the new refresh token on the account.",
            code="amazon_lwa_refused",
        )

    return refresh_grant(
        session or requests,
        lwa_base_url(account) + LWA_TOKEN_PATH,
        name="Amazon LWA",
        form={
            "refresh_token": creds.refresh_token,
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
        refused=refused,
        default_lifetime=3600,
    )


def access_token(account: ChannelAccount, session: requests.Session | None = None) -> str:
    """The account's access token: the stored one while it is fresh, else a new one from LWA."""
    return access_token_get(account, lambda: lwa_token_fetch(account, session))
