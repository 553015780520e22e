"""Lockout after repeated failed sign-ins (django-axes), as this house configures it.

- `client_ip`: the address a failure is recorded (and, if configured, locked) under. Behind
  `OMS_TRUSTED_PROXY_COUNT` proxies it is the address the outermost trusted proxy saw (that many
  entries from the right of X-Forwarded-For); with none, REMOTE_ADDR. A client can put anything
  in the left of X-Forwarded-For, so the count must be exactly the proxies you run.
- `lockout_response`: the "account locked" page, saying when to try again.
- `unlock_at`: when a username's lockout ends (its last failure plus the cool-off).
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime, timedelta
from typing import Any

from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

LOCKED_TEMPLATE = "security/locked.html"


def client_ip(request: HttpRequest) -> str | None:
    proxies = int(getattr(settings, "OMS_TRUSTED_PROXY_COUNT", 0))
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies and _is_address(forwarded[-proxies]):
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def unlock_at(username: str, *, cool_off: timedelta | None, now: datetime | None = None) -> datetime | None:
    """When `username`'s lockout ends; None when nothing of theirs counts any more."""
    if not username or cool_off is None:
        return None
    now = now or timezone.now()
    last = AccessAttempt.objects.filter(username=username, attempt_time__gte=now - cool_off).aggregate(
        last=Max("attempt_time")
    )["last"]
    return last + cool_off if last else None


def minutes_until(moment: datetime | None, cool_off: timedelta | None) -> int | None:
    if moment is None:
        return math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    return max(1, math.ceil((moment - timezone.now()).total_seconds() / 60))


def locked_page(request: HttpRequest, username: str, status: int | None = None) -> HttpResponse:
    cool_off = get_cool_off(request)
    until = unlock_at(username, cool_off=cool_off)
    context = {
        **admin.site.each_context(request),
        "title": "Account locked",
        "available_apps": [],
        "is_nav_sidebar_enabled": False,
        "username": username,
        "failure_limit": get_failure_limit(request, {"username": username}),
        "minutes": minutes_until(until, cool_off),
        "unlock_at": until,
    }
    return render(request, LOCKED_TEMPLATE, context, status=status or settings.AXES_HTTP_RESPONSE_CODE)


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page of a locked account answers with this page."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return locked_page(request, username)
