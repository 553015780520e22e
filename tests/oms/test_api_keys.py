from __future__ import annotations

from django.db import connection
from rest_framework.test import APIClient

from oms.models import ApiKey, hash_api_key
from oms.services import api_key_revoke
from tests.conftest import api_client_for

SCHEMA = "/api/v1/me/"


def _raw_column_values():
    with connection.cursor() as cursor:
        cursor.execute("SELECT prefix, key_hash FROM oms_apikey")
        return cursor.fetchall()


def test_api_key_is_stored_hashed_and_never_in_clear(key_a):
    key, raw = key_a
    rows = _raw_column_values()
    assert all(raw not in (prefix, key_hash) for prefix, key_hash in rows)
    assert key.key_hash == hash_api_key(raw)
    assert raw.startswith(f"oms_{key.prefix}_")
    assert len(raw) > 40


def test_valid_key_authenticates_and_records_last_use(api_a, key_a):
    response = api_a.get(SCHEMA)
    assert response.status_code == 200
    key = ApiKey.objects.unscoped().get(pk=key_a[0].pk)
    assert key.last_used_at is not None


def test_missing_or_bad_key_is_401_with_a_code(key_a):
    anonymous = APIClient().get(SCHEMA)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert anonymous["WWW-Authenticate"].startswith("Bearer")

    tampered = api_client_for(key_a[1][:-2] + "xx").get(SCHEMA)
    assert tampered.status_code == 401
    assert tampered.json()["code"] == "invalid_api_key"

    garbage = api_client_for("not-a-key").get(SCHEMA)
    assert garbage.status_code == 401


def test_revoked_key_stops_working(api_a, key_a, tenant_a):
    assert api_a.get(SCHEMA).status_code == 200
    api_key_revoke(tenant=tenant_a, api_key_id=key_a[0].pk, actor=None)
    response = api_a.get(SCHEMA)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


def test_inactive_tenant_keys_stop_working(api_a, tenant_a):
    tenant_a.is_active = False
    tenant_a.save()
    assert api_a.get(SCHEMA).status_code == 401


def test_past_the_rate_limit_the_api_answers_429_with_retry_after(api_a, monkeypatch):
    from django.core.cache import cache

    from oms.core.throttling import ApiKeyThrottle

    cache.clear()
    monkeypatch.setattr(ApiKeyThrottle, "THROTTLE_RATES", {"api_key": "2/min"})
    assert [api_a.get(SCHEMA).status_code for _ in range(2)] == [200, 200]
    limited = api_a.get(SCHEMA)
    assert limited.status_code == 429
    assert limited.json()["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    cache.clear()


def test_each_key_has_its_own_budget_kept_as_counters(api_a, key_a, tenant_a, monkeypatch):
    """Another key of the tenant is not refused for the first's requests; what the cache keeps
    for a key is a count, not a list of every request's time."""
    import time

    from django.core.cache import cache

    from oms.core.throttling import KEY_PREFIX_API_KEY, ApiKeyThrottle
    from oms.services import api_key_create

    cache.clear()
    monkeypatch.setattr(ApiKeyThrottle, "THROTTLE_RATES", {"api_key": "2/min"})
    _, other = api_key_create(tenant=tenant_a, name="second")
    assert [api_a.get(SCHEMA).status_code for _ in range(3)] == [200, 200, 429]
    assert api_client_for(other).get(SCHEMA).status_code == 200
    window = int(time.time() // 60)
    counted = [cache.get(f"{KEY_PREFIX_API_KEY}:{key_a[0].prefix}:60:{w}") for w in (window, window - 1)]
    assert 2 in counted  # the refused third is not counted
    cache.clear()
