"""Short-lived access tokens (Amazon's LWA, eBay's OAuth): refreshed when needed, kept encrypted.

A polled marketplace keeps a long-lived refresh token in the account's `credentials`; each
API call needs an access token that lives about an hour. `access_token_get(account, fetch)`
returns the stored one while it has more than REFRESH_MARGIN_SECONDS left, else calls
`fetch()` (the connector's token request: returns the token and its lifetime in seconds) and
stores the new one (encrypted, like every credential). `access_token_forget(account)` drops
it after the vendor refused it (401), so the next call refreshes.

Two workers that refresh at once both get valid tokens (the vendors allow several); the last
one stored wins. No lock is held across the vendor call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from integrations.models import ChannelAccount

REFRESH_MARGIN_SECONDS = 120

TokenFetch = Callable[[], tuple[str, int]]


def access_token_get(account: ChannelAccount, fetch: TokenFetch) -> str:
    now = timezone.now()
    expires = account.access_token_expires_at
    fresh_until = now + timedelta(seconds=REFRESH_MARGIN_SECONDS)
    if account.access_token and expires is not None and expires > fresh_until:
        return account.access_token
    token, lifetime = fetch()
    account.access_token = token
    account.access_token_expires_at = timezone.now() + timedelta(seconds=max(0, int(lifetime)))
    ChannelAccount.objects.for_tenant(account.tenant_id).filter(pk=account.pk).update(
        access_token=account.access_token, access_token_expires_at=account.access_token_expires_at
    )
    return token


def access_token_forget(account: ChannelAccount) -> None:
    account.access_token = ""
    account.access_token_expires_at = None
    ChannelAccount.objects.for_tenant(account.tenant_id).filter(pk=account.pk).update(
        access_token="", access_token_expires_at=None
    )
