"""Per-tenant API rate limits: a tenant past its rate gets 429, another tenant on the same route does not."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from oms.core.throttling import parse_rate, window_take
from oms.models import Role
from oms.services import api_key_create
from tests.conftest import api_client_for

ORDERS = "/api/v1/orders/"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_tenant_past_its_rate_gets_429_while_another_tenant_is_served(api_a, api_b, tenant_a):
    tenant_a.api_rate = "3/min"
    tenant_a.save()
    assert [api_a.get(ORDERS).status_code for _ in range(3)] == [200, 200, 200]
    limited = api_a.get(ORDERS)
    assert limited.status_code == 429
    body = limited.json()
    assert body["code"] == "throttled" and "throttled" in body["message"]
    assert 1 <= int(limited["Retry-After"]) <= 2 * 60  # the sliding estimate: at most two windows
    # The other tenant, on the same route, with the default rate: still served.
    assert [api_b.get(ORDERS).status_code for _ in range(5)] == [200] * 5


def test_all_of_a_tenants_keys_share_its_budget(api_a, tenant_a):
    tenant_a.api_rate = "2/min"
    tenant_a.save()
    _, other_raw = api_key_create(tenant=tenant_a, name="second storefront", role=Role.MANAGER)
    second = api_client_for(other_raw)
    assert api_a.get(ORDERS).status_code == 200
    assert second.get(ORDERS).status_code == 200
    assert second.get(ORDERS).status_code == 429
    assert api_a.get(ORDERS).status_code == 429


def test_the_default_rate_comes_from_settings(api_a, api_b, settings):
    settings.API_RATE_PER_TENANT = "2/min"
    assert [api_a.get(ORDERS).status_code for _ in range(3)] == [200, 200, 429]
    assert [api_b.get(ORDERS).status_code for _ in range(3)] == [200, 200, 429]


def test_a_write_past_the_rate_is_refused_before_it_does_anything(api_a, tenant_a):
    tenant_a.api_rate = "1/min"
    tenant_a.save()
    assert api_a.get(ORDERS).status_code == 200
    response = api_a.post(ORDERS, {"channel": "web"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 429
    assert api_a.get(ORDERS).status_code == 429


def test_refused_requests_are_not_counted_and_the_window_slides():
    start = 1_000_000 * 60.0  # the start of a fixed window
    assert [window_take("t", 2, 60, now=start + i) for i in range(2)] == [0.0, 0.0]
    wait = window_take("t", 2, 60, now=start + 2)
    assert wait > 0
    # Many refusals later the tenant is not locked out for longer: refusals were not counted.
    for _ in range(50):
        window_take("t", 2, 60, now=start + 3)
    # Half-way through the next window, half of the previous window's 2 still count: room for 1.
    assert window_take("t", 2, 60, now=start + 90) == 0.0
    assert window_take("t", 2, 60, now=start + 90) > 0
    # The wait it announced is enough: at that moment a request is let in.
    refused_at = start + 91
    wait = window_take("t", 2, 60, now=refused_at)
    assert window_take("t", 2, 60, now=refused_at + wait) == 0.0


def test_rates_are_written_as_drf_writes_them():
    assert parse_rate("600/min") == (600, 60)
    assert parse_rate("20/s") == (20, 1)
    assert parse_rate("1000/day") == (1000, 86400)
    with pytest.raises(ValueError):
        parse_rate("fast")


def test_a_tenant_rate_that_is_not_a_rate_is_refused(tenant_a):
    tenant_a.api_rate = "lots"
    with pytest.raises(ValidationError) as refused:
        tenant_a.full_clean()
    assert "api_rate" in refused.value.message_dict


@pytest.mark.parametrize("seed", range(20))
def test_retry_after_is_when_a_request_is_let_in_again_and_not_sooner(seed):
    import random

    rng = random.Random(seed)
    limit, duration = rng.randint(1, 20), rng.choice([1, 60, 3600])
    start = 10_000 * 3600.0 + rng.random() * duration
    now = start
    while (wait := window_take(f"p{seed}", limit, duration, now=now)) == 0.0:
        now += rng.random() * duration / limit  # requests at about the rate, until one is refused
    # Refused requests are not counted, so asking too soon changes nothing.
    assert window_take(f"p{seed}", limit, duration, now=now + wait * 0.98 - 0.001) > 0
    assert window_take(f"p{seed}", limit, duration, now=now + wait + 0.001) == 0.0
