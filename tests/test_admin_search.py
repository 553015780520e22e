"""The theme's search box (django-unfold's admin/search/): it names only the admin pages the signed-in
role may open, and never looks into rows (UNFOLD COMMAND search_models stays off)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from tests.oms.factories import MembershipFactory, UserFactory

SEARCH = reverse("admin:search")


@pytest.fixture
def agent_a(tenant_a):
    from oms.models import Role

    user = UserFactory(username="agent@acme.test", email="agent@acme.test", is_staff=True)
    MembershipFactory(tenant=tenant_a, user=user, role=Role.AGENT)
    return user


@pytest.mark.django_db
def test_search_names_what_the_role_may_open(client, owner_a, agent_a):
    client.force_login(owner_a)
    owner_page = client.get(SEARCH, {"s": "key"})
    assert owner_page.status_code == 200
    assert reverse("admin:oms_apikey_changelist") in owner_page.content.decode()

    client.force_login(agent_a)
    agent_page = client.get(SEARCH, {"s": "key"})
    assert agent_page.status_code == 200
    assert reverse("admin:oms_apikey_changelist") not in agent_page.content.decode()
    assert reverse("admin:orders_order_changelist") in client.get(SEARCH, {"s": "order"}).content.decode()


@pytest.mark.django_db
def test_search_needs_a_staff_sign_in_and_never_searches_rows(client):
    assert client.get(SEARCH, {"s": "order"}).status_code == 302  # to the sign-in page
    assert not settings.UNFOLD.get("COMMAND", {}).get("search_models")
