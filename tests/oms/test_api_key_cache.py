"""API keys read from the cache, and a revoked, deleted or changed key refused on the very next request."""

from __future__ import annotations

import os

import pytest
import requests
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from oms.core import auth
from oms.models import ApiKey, Role
from oms.services import api_key_revoke
from tests.conftest import api_client_for

ME = "/api/v1/me/"


@pytest.fixture
def cache_on(settings):
    settings.API_KEY_CACHE = "on"


def _key_reads(captured):
    return [q["sql"] for q in captured.captured_queries if 'FROM "oms_apikey"' in q["sql"]]


def test_a_known_key_is_read_from_the_cache(api_a, cache_on):
    assert api_a.get(ME).status_code == 200  # reads the row, caches it, notes the use
    with CaptureQueriesContext(connection) as second:
        assert api_a.get(ME).status_code == 200
    assert _key_reads(second) == []
    assert not any("oms_apikey" in q["sql"] for q in second.captured_queries)  # nor the last-use write


@pytest.mark.django_db(transaction=True)
def test_a_revoked_key_is_refused_on_the_very_next_request(api_a, key_a, tenant_a, cache_on):
    assert api_a.get(ME).status_code == 200
    assert api_a.get(ME).status_code == 200  # served from the cache
    api_key_revoke(tenant=tenant_a, api_key_id=key_a[0].pk, actor=None)
    refused = api_a.get(ME)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_api_key"


@pytest.mark.django_db(transaction=True)
def test_a_request_that_read_the_key_before_the_revocation_committed_cannot_cache_it(
    api_a, key_a, tenant_a, cache_on
):
    assert api_a.get(ME).status_code == 200
    stale = ApiKey.objects.unscoped().select_related("tenant").get(pk=key_a[0].pk)  # read, not yet cached
    with transaction.atomic():
        api_key_revoke(tenant=tenant_a, api_key_id=key_a[0].pk, actor=None)
    auth.cache.add(auth._key(stale.prefix), stale, auth.CACHE_SECONDS)  # what that request does next
    assert api_a.get(ME).status_code == 401


def test_a_deleted_key_is_refused_and_a_changed_role_applies_at_once(api_a, key_a, cache_on):
    key = key_a[0]
    assert api_a.get(ME).json()["role"] == Role.MANAGER
    key.role = Role.OWNER
    key.save()
    assert api_a.get(ME).json()["role"] == Role.OWNER
    key.delete()
    assert api_a.get(ME).status_code == 401


def test_a_switched_off_tenant_switches_off_its_cached_keys(api_a, api_b, tenant_a, cache_on):
    assert api_a.get(ME).status_code == 200 and api_b.get(ME).status_code == 200
    tenant_a.is_active = False
    tenant_a.save()
    assert api_a.get(ME).status_code == 401
    assert api_b.get(ME).status_code == 200  # another tenant's keys are untouched


def test_with_a_per_process_cache_the_auto_setting_reads_the_database(api_a, settings):
    settings.API_KEY_CACHE = "auto"
    if not auth.api_key_cache_on():  # locmem: another process's revocation would not reach it
        assert api_a.get(ME).status_code == 200
        with CaptureQueriesContext(connection) as second:
            assert api_a.get(ME).status_code == 200
        assert len(_key_reads(second)) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis as the shared cache (REDIS_URL)")
def test_across_processes_a_key_revoked_here_is_refused_by_every_web_worker(key_a, tenant_a, tmp_path):
    from tests.e2e.worker import running_web

    raw = key_a[1]
    headers = {"Authorization": f"Bearer {raw}"}
    assert auth.api_key_cache_on()
    with running_web("memory://", tmp_path) as base:
        # gunicorn with 2 workers: enough requests that both have read (and cached) the key
        assert {requests.get(base + ME, headers=headers, timeout=10).status_code for _ in range(8)} == {200}
        api_key_revoke(tenant=tenant_a, api_key_id=key_a[0].pk, actor=None)  # in this process
        answers = [requests.get(base + ME, headers=headers, timeout=10).status_code for _ in range(8)]
    assert answers == [401] * 8
    assert api_client_for(raw).get(ME).status_code == 401
