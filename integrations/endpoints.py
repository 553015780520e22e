"""Where an account's SDK may be pointed: a vendor base_url override is honoured only where allowed.

`settings.VENDOR_BASE_URL_HOSTS` lists the hosts (`host` or `host:port`) an account's
`base_url` may name; `*.myshopify.com` names every subdomain of myshopify.com (each Shopify
shop has its own host), never the domain itself, and needs at least two labels after `*.`
(so `*.com` names nothing). Development and test settings hold `["*"]` (any host: local fakes and
sandboxes); production takes an explicit list from the environment, and an empty list (the
default) allows none. The rule is checked twice: when staff save an account (model clean)
and when a client is built (`effective_base_url`), so a row written around the form still
talks to the vendor's real host.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)

ANY_HOST = "*"


def _allowed_hosts() -> list[str]:
    return [h.strip().lower() for h in getattr(settings, "VENDOR_BASE_URL_HOSTS", []) if h.strip()]


def base_url_problem(url: str) -> str | None:
    """Why `url` may not replace a vendor's host here, or None when it may (blank always may)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a valid http(s) URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Enter a valid http(s) URL."
    if parts.username is not None or parts.password is not None:
        return "A base URL cannot carry a user name or password."
    allowed = _allowed_hosts()
    if ANY_HOST in allowed:
        return None
    host = parts.hostname.lower()
    if host in allowed or (port is not None and f"{host}:{port}" in allowed):
        return None
    if any(_subdomain_of(host, entry) for entry in allowed):
        return None
    if not allowed:
        return "This installation does not allow overriding the vendor's address; leave it blank."
    return f"The host {host} is not in VENDOR_BASE_URL_HOSTS; leave it blank to use the vendor."


def _subdomain_of(host: str, entry: str) -> bool:
    """`entry` is `*.<domain>` (at least two labels) and `host` is a subdomain of that domain."""
    if not entry.startswith("*.") or ":" in entry:
        return False
    domain = entry[2:]
    if domain.count(".") < 1 or "*" in domain:
        return False
    return host.endswith("." + domain) and len(host) > len(domain) + 1


def validate_base_url(url: str) -> None:
    problem = base_url_problem(url)
    if problem:
        raise ValidationError({"base_url": problem})


def effective_base_url(account: Any) -> str:
    """The account's base_url if settings allow it here, else "" (the vendor's real host)."""
    url = (account.base_url or "").strip()
    if not url or base_url_problem(url) is None:
        return url
    try:
        host = urlsplit(url).hostname or "?"
    except ValueError:
        host = "?"
    logger.warning(
        "Account %s names base_url host %s, which settings do not allow here; using the vendor's host",
        account.pk,
        host,
    )
    return ""
