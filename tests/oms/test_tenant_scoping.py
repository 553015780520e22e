from __future__ import annotations

import pytest
from django.db.models import Q

from oms.core.models import UnscopedQueryError
from oms.models import ApiKey, Membership


def test_unscoped_query_on_tenant_owned_model_is_refused(key_a, key_b):
    with pytest.raises(UnscopedQueryError):
        list(ApiKey.objects.all())
    with pytest.raises(UnscopedQueryError):
        ApiKey.objects.filter(name="storefront").count()
    with pytest.raises(UnscopedQueryError):
        ApiKey.objects.get(pk=key_a[0].pk)
    with pytest.raises(UnscopedQueryError):
        ApiKey.objects.filter(name="storefront").update(name="x")
    with pytest.raises(UnscopedQueryError):
        ApiKey.objects.filter(name="storefront").delete()
    # nothing changed by the refused writes
    assert sorted(ApiKey.objects.unscoped().values_list("name", flat=True)) == ["storefront", "storefront"]


def test_exclude_or_or_on_tenant_does_not_count_as_scoping(tenant_a, key_a, key_b):
    with pytest.raises(UnscopedQueryError):
        list(ApiKey.objects.exclude(tenant=tenant_a))
    with pytest.raises(UnscopedQueryError):
        list(ApiKey.objects.filter(Q(tenant=tenant_a) | Q(name="storefront")))


def test_for_tenant_returns_only_that_tenants_rows(tenant_a, tenant_b, key_a, key_b):
    assert list(ApiKey.objects.for_tenant(tenant_a)) == [key_a[0]]
    assert list(ApiKey.objects.for_tenant(tenant_b)) == [key_b[0]]
    assert ApiKey.objects.filter(tenant_id=tenant_a.pk, name="storefront").get() == key_a[0]


def test_for_tenant_refuses_none():
    with pytest.raises(UnscopedQueryError):
        ApiKey.objects.for_tenant(None)


def test_relations_from_a_tenant_row_are_scoped(owner_a):
    membership = Membership.objects.unscoped().get(user=owner_a)
    # forward foreign keys go through the base manager and keep working
    assert membership.tenant.slug == "acme"
