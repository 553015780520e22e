"""The theme's sidebar (oms/core/admin_navigation.py) reaches the workspace, notification and
sign-in security pages, each only for a role that may open it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.oms.factories import MembershipFactory, UserFactory


def _staff(tenant, role, email):
    user = UserFactory(username=email, email=email, is_staff=True)
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


def _sidebar_links(client, user) -> str:
    client.force_login(user)
    page = client.get(reverse("admin:index"))
    assert page.status_code == 200
    return page.content.decode().split('id="content"')[0]  # the sidebar and header, not the page


@pytest.mark.django_db
def test_the_sidebar_reaches_the_new_pages_by_role(client, tenant_a):
    from oms.models import Role

    owner = _sidebar_links(client, _staff(tenant_a, Role.OWNER, "owner@acme.test"))
    for url in (
        reverse("workspace:exceptions"),
        reverse("admin:notifications_webhookendpoint_changelist"),
        reverse("admin:notifications_emailtemplate_changelist"),
        reverse("admin:otp_totp_totpdevice_changelist"),
        reverse("admin:axes_accessattempt_changelist"),
    ):
        assert f'href="{url}"' in owner, url

    picker = _sidebar_links(client, _staff(tenant_a, Role.WAREHOUSE, "picker@acme.test"))
    assert f'href="{reverse("workspace:exceptions")}"' in picker
    assert f'href="{reverse("admin:otp_totp_totpdevice_changelist")}"' not in picker
    assert f'href="{reverse("admin:notifications_webhookendpoint_changelist")}"' not in picker
