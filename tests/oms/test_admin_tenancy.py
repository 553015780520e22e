"""A staff member of tenant A never sees tenant B's rows anywhere in the admin."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from oms.core.admin import TenantScopedMixin
from oms.core.audit import audit_record
from oms.core.models import TenantOwned
from oms.models import ApiKey, Membership


@pytest.fixture
def two_tenants(tenant_a, tenant_b, owner_a, owner_b, key_a, key_b):
    audit_record(
        tenant=tenant_b, actor=owner_b, action="secret.globex-action", object_type="x", object_id="1"
    )
    audit_record(tenant=tenant_a, actor=owner_a, action="visible.acme-action", object_type="x", object_id="1")
    return tenant_a, tenant_b


def test_every_admin_of_a_tenant_owned_model_is_tenant_scoped():
    for model, model_admin in admin.site._registry.items():
        if issubclass(model, TenantOwned):
            assert isinstance(model_admin, TenantScopedMixin), model
            for inline in model_admin.inlines:
                if issubclass(inline.model, TenantOwned):
                    assert issubclass(inline, TenantScopedMixin), inline


def test_changelists_show_only_own_rows(client, owner_a, two_tenants):
    client.force_login(owner_a)
    for model in (ApiKey, Membership):
        url = reverse(f"admin:oms_{model._meta.model_name}_changelist")
        body = client.get(url).content.decode()
        assert "globex" not in body.lower(), url
    audit = client.get(reverse("admin:oms_auditevent_changelist")).content.decode()
    assert "visible.acme-action" in audit
    assert "secret.globex-action" not in audit


def test_changelist_filters_offer_only_own_choices(client, owner_a, two_tenants):
    client.force_login(owner_a)
    body = client.get(reverse("admin:oms_auditevent_changelist")).content.decode()
    assert "visible.acme-action" in body  # the action filter lists A's actions
    assert "secret.globex-action" not in body


def test_change_form_of_another_tenants_row_is_not_served(client, owner_a, key_b, two_tenants):
    client.force_login(owner_a)
    response = client.get(reverse("admin:oms_apikey_change", args=[key_b[0].pk]), follow=True)
    assert key_b[0].prefix not in response.content.decode()
    assert b"doesn\xe2\x80\x99t exist" in response.content


def test_tenant_admin_page_shows_only_own_tenant(client, owner_a, two_tenants):
    client.force_login(owner_a)
    body = client.get(reverse("admin:oms_tenant_changelist")).content.decode()
    assert "Acme Outdoor" in body
    assert "Globex Goods" not in body


def test_foreign_key_choices_are_scoped(client, owner_a, owner_b, two_tenants):
    client.force_login(owner_a)
    body = client.get(reverse("admin:oms_membership_add")).content.decode()
    # users are not tenant-owned, but the tenant field itself is never offered to staff
    assert 'name="tenant"' not in body


def test_new_rows_get_the_tenant_server_side(client, owner_a, tenant_a, tenant_b, two_tenants):
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:oms_apikey_add"), {"name": "pos", "role": "agent", "tenant": tenant_b.pk}
    )
    assert response.status_code == 302
    key = ApiKey.objects.unscoped().get(name="pos")
    assert key.tenant_id == tenant_a.pk


def test_warehouse_role_cannot_manage_keys(client, warehouse_a, two_tenants):
    client.force_login(warehouse_a)
    assert client.get(reverse("admin:oms_apikey_changelist")).status_code == 403


def test_superuser_sees_every_tenant(admin_client, two_tenants):
    body = admin_client.get(reverse("admin:oms_auditevent_changelist")).content.decode()
    assert "visible.acme-action" in body
    assert "secret.globex-action" in body
