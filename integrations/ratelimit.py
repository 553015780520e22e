"""Vendor rate limits: a token bucket per channel account and operation, shared by every worker.

Amazon's SP-API documents each operation's limit as a token bucket (a rate in requests per
second and a burst); eBay and others answer 429 when a quota is spent. A connector asks
`rate_take(account, operation, rate=, burst=)` before each call: 0.0 means a token was taken
and the call may go; a positive number is how many seconds until one is there (nothing was
taken). After a 429 the connector calls `rate_throttled(...)`: the bucket is emptied, and if
the vendor said its current rate (`x-amzn-RateLimit-Limit`), that rate is used from then on.

The bucket is a database row (`RateBucket`) changed under a row lock in a short transaction of
its own, so two worker processes polling different pages of one account never both spend the
last token; no vendor is called while the lock is held.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.models import ChannelAccount, RateBucket


def _bucket(account: ChannelAccount, operation: str, rate: float, burst: int) -> RateBucket:
    buckets = RateBucket.objects.for_tenant(account.tenant_id)
    bucket = buckets.select_for_update().filter(account=account, operation=operation).first()
    if bucket is not None:
        return bucket
    try:
        with transaction.atomic():
            return RateBucket.objects.create(
                tenant_id=account.tenant_id,
                account=account,
                operation=operation,
                tokens=float(burst),
                rate=rate,
                burst=burst,
                refreshed_at=timezone.now(),
            )
    except IntegrityError:  # made by another worker a moment ago
        return buckets.select_for_update().get(account=account, operation=operation)


def _refill(bucket: RateBucket, now: object) -> None:
    elapsed = max(0.0, (now - bucket.refreshed_at).total_seconds())  # type: ignore[operator]
    bucket.tokens = min(float(bucket.burst), bucket.tokens + elapsed * bucket.rate)
    bucket.refreshed_at = now  # type: ignore[assignment]


def rate_take(account: ChannelAccount, operation: str, *, rate: float, burst: int) -> float:
    """Take one token for a call: 0.0 if taken, else the seconds until one is there (none taken).

    `rate` (per second) and `burst` are the documented limits; a rate learnt from a 429 stays.
    """
    with transaction.atomic():
        bucket = _bucket(account, operation, rate, burst)
        now = timezone.now()
        bucket.burst = burst
        _refill(bucket, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            wait = 0.0
        else:
            wait = (1.0 - bucket.tokens) / bucket.rate if bucket.rate > 0 else 3600.0
        bucket.save(update_fields=["tokens", "burst", "refreshed_at"])
    return wait


def rate_throttled(
    account: ChannelAccount,
    operation: str,
    *,
    rate: float,
    burst: int,
    vendor_rate: float | None = None,
    hold_seconds: float | None = None,
) -> float:
    """The vendor answered 429: empty the bucket (and take its rate when it said one).

    With `hold_seconds` (the vendor's `Retry-After`) the bucket refills to one token only then.
    Returns the seconds until the next call may go.
    """
    with transaction.atomic():
        bucket = _bucket(account, operation, rate, burst)
        if vendor_rate is not None and vendor_rate > 0:
            bucket.rate = vendor_rate
        bucket.tokens = 0.0
        if hold_seconds and bucket.rate > 0:
            bucket.tokens = min(0.0, 1.0 - hold_seconds * bucket.rate)
        bucket.refreshed_at = timezone.now()
        bucket.throttled += 1
        bucket.save(update_fields=["tokens", "rate", "refreshed_at", "throttled"])
    if bucket.rate <= 0:
        return 3600.0
    return (1.0 - bucket.tokens) / bucket.rate


def vendor_rate_of(value: str | None) -> float | None:
    """A rate header's value (`x-amzn-RateLimit-Limit: 0.0167`) as a number, or None."""
    try:
        rate = float(value) if value else None
    except ValueError:
        return None
    return rate if rate is not None and rate > 0 else None
