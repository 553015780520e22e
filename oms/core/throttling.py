"""Per-tenant API rate limits: one tenant's flood answers 429 to that tenant only.

Every API request of a tenant (any of its API keys, any of its signed-in staff) counts against
one budget per tenant: `Tenant.api_rate` when set ("600/min"), else `API_RATE_PER_TENANT`
(settings, default 12000/min). The per-key limit (`ApiKeyThrottle`, `API_RATE_LIMIT`) still
applies beneath it: a tenant's several keys share the tenant's budget, and no key exceeds its own.
Both are counted the same way (`window_take`).

The count is a sliding window estimated from two fixed windows (the current one and the one
before, weighted by how much of it still lies within the last `duration` seconds), kept as two
integer counters in the Django cache: Redis in production, so every web process shares them,
and each process its own in development (locmem). A request costs a few cache round trips and
no list of timestamps (DRF's SimpleRateThrottle stores one per request: 12,000 of them per
tenant at the default rate). A refused request is not counted, so a client that keeps retrying
is let in again as soon as the window has room.

Past the limit the API answers 429 `{"code": "throttled", "message": ...}` with `Retry-After`
(whole seconds until the window has room), as every error (oms/core/api.py).
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

RATE_PATTERN = re.compile(r"^([1-9][0-9]{0,8})/(s|sec|second|m|min|minute|h|hour|d|day)$")
PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
KEY_PREFIX = "throttle:tenant"
KEY_PREFIX_API_KEY = "throttle:key"


def parse_rate(rate: str) -> tuple[int, int]:
    """ "600/min" -> (600, 60): requests allowed, per how many seconds."""
    match = RATE_PATTERN.match(rate.strip())
    if match is None:
        raise ValueError(f"not a rate: {rate!r} (write it as 600/min, 20/s, 10000/hour or 100000/day)")
    return int(match.group(1)), PERIOD_SECONDS[match.group(2)[0]]


def validate_rate(value: str) -> None:
    """Model and form validator of a tenant's rate (blank: the default)."""
    if value:
        try:
            parse_rate(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def tenant_rate(tenant: Any) -> tuple[int, int]:
    """The tenant's own rate when it has one, else the settings default."""
    own = getattr(tenant, "api_rate", "") or ""
    return parse_rate(own or settings.API_RATE_PER_TENANT)


def _count(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout)
        return 1


def window_take(
    ident: str, limit: int, duration: int, *, now: float | None = None, prefix: str = KEY_PREFIX
) -> float:
    """Count one request for `ident`. 0.0 if it is within `limit` per `duration`, else seconds to wait."""
    now = time.time() if now is None else now
    window = int(now // duration)
    elapsed = now - window * duration
    current_key = f"{prefix}:{ident}:{duration}:{window}"
    previous = int(cache.get(f"{prefix}:{ident}:{duration}:{window - 1}") or 0)
    current = _count(current_key, duration * 2 + 1)
    weight = 1.0 - elapsed / duration
    if previous * weight + current <= limit:
        return 0.0
    try:
        cache.decr(current_key)  # a refused request does not count
    except ValueError:
        pass
    return _wait(previous, current - 1, limit, duration, elapsed)


def _wait(previous: int, current: int, limit: int, duration: int, elapsed: float) -> float:
    """Seconds until previous * weight + current + 1 <= limit, the weight falling as time passes."""
    room = limit - 1 - current
    if room >= 0 and previous > 0:
        # Within this window: previous * (1 - (elapsed + w) / duration) <= room.
        return max(duration * (1.0 - room / previous) - elapsed, 0.001)
    # In the next window this window's count is the previous one: current * (1 - e / duration) <= limit - 1.
    until_next = duration - elapsed
    if current <= 0:
        return until_next
    return until_next + max(duration * (1.0 - (limit - 1) / current), 0.0)


class ApiKeyThrottle(BaseThrottle):  # type: ignore[misc]
    """Each API key's own limit (`API_RATE_LIMIT`, default 6000/min), counted as the tenant's is:
    DRF's SimpleRateThrottle would keep a list with a timestamp per request, up to 6,000 at the
    default rate, read from the cache and written back whole on every request."""

    scope = "api_key"
    THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES

    def allow_request(self, request: Any, view: Any) -> bool:
        api_key = getattr(request._request, "api_key", None)
        if api_key is None:
            self._wait = None
            return True  # a signed-in person: the tenant's budget only
        limit, duration = parse_rate(self.THROTTLE_RATES[self.scope])
        self._wait = window_take(api_key.prefix, limit, duration, prefix=KEY_PREFIX_API_KEY)
        return self._wait == 0.0

    def wait(self) -> float | None:
        return None if self._wait is None else float(math.ceil(self._wait))


class TenantThrottle(BaseThrottle):  # type: ignore[misc]
    """DRF throttle keyed by the request's tenant (after authentication set it), not by user or key."""

    def allow_request(self, request: Any, view: Any) -> bool:
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            self._wait = None
            return True  # no tenant: authentication and permissions answer 401/403
        limit, duration = tenant_rate(tenant)
        self._wait = window_take(str(tenant.pk), limit, duration)
        return self._wait == 0.0

    def wait(self) -> float | None:
        return None if self._wait is None else float(math.ceil(self._wait))
