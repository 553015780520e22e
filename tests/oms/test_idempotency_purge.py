"""Idempotency keys live at least 24 hours; the hourly purge drops them only after 48."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from oms.models import IdempotencyRecord
from oms.tasks import idempotency_records_purge_task


def test_purge_keeps_keys_younger_than_48_hours(tenant_a, tenant_b):
    now = timezone.now()
    for tenant, key, age in ((tenant_a, "fresh", 1), (tenant_a, "day-old", 30), (tenant_b, "stale", 49)):
        IdempotencyRecord.objects.create(
            tenant=tenant,
            key=key,
            scope="POST /api/v1/orders/",
            request_hash="h",
            created_at=now - timedelta(hours=age),
        )
    assert idempotency_records_purge_task() == 1
    assert sorted(IdempotencyRecord.objects.unscoped().values_list("key", flat=True)) == ["day-old", "fresh"]
