"""A user who belongs to two tenants switches between them; never into a tenant they are not in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oms.core.audit import audit_record
from oms.models import Role
from tests.oms.factories import MembershipFactory, TenantFactory

EVENTS = reverse("admin:oms_auditevent_changelist")


@pytest.fixture
def agency_user(tenant_a, tenant_b, owner_a, owner_b):
    MembershipFactory(tenant=tenant_b, user=owner_a, role=Role.MANAGER)
    audit_record(tenant=tenant_a, actor=None, action="acme.only", object_type="x", object_id="1")
    audit_record(tenant=tenant_b, actor=None, action="globex.only", object_type="x", object_id="1")
    return owner_a


def test_switching_changes_what_the_admin_shows(client, agency_user, tenant_a, tenant_b):
    client.force_login(agency_user)
    first = client.get(EVENTS).content.decode()
    assert "acme.only" in first and "globex.only" not in first
    assert 'id="tenant-switch"' in first

    response = client.post(reverse("switch-tenant"), {"tenant": tenant_b.pk})
    assert response.status_code == 302
    second = client.get(EVENTS).content.decode()
    assert "globex.only" in second and "acme.only" not in second


def test_cannot_switch_into_a_tenant_without_membership(client, owner_a, tenant_a):
    stranger = TenantFactory(slug="initech", name="Initech")
    audit_record(tenant=stranger, actor=None, action="initech.only", object_type="x", object_id="1")
    client.force_login(owner_a)
    response = client.post(reverse("switch-tenant"), {"tenant": stranger.pk})
    assert response.status_code == 404
    assert "initech.only" not in client.get(EVENTS).content.decode()


def test_single_membership_shows_no_switcher(client, owner_a, tenant_a):
    client.force_login(owner_a)
    body = client.get(EVENTS).content.decode()
    assert 'id="tenant-switch"' not in body
    assert "Acme Outdoor" in body


def test_switch_needs_a_login(client, tenant_a):
    response = client.post(reverse("switch-tenant"), {"tenant": tenant_a.pk})
    assert response.status_code == 302 and "/login/" in response["Location"]
