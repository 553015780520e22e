"""Owners add staff by email, never by picking from every tenant's users."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from oms.models import Membership, OutboxMessage, Role
from tests.worlds import admin_form_data

ADD = reverse("admin:oms_membership_add")


@pytest.fixture
def stranger(db):
    return User.objects.create_user("someone@elsewhere.test", "someone@elsewhere.test", "pw-123456")


def test_the_add_form_asks_for_an_email_and_lists_no_users(client, owner_a, owner_b, stranger):
    client.force_login(owner_a)
    body = client.get(ADD).content.decode()
    assert 'name="email"' in body and 'name="role"' in body
    assert 'name="user"' not in body
    for other in ("owner@globex.test", "someone@elsewhere.test"):
        assert other not in body


def test_a_new_email_gets_a_user_and_an_invitation_to_set_a_password(
    client, owner_a, tenant_a, django_capture_on_commit_callbacks
):
    client.force_login(owner_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD, {"email": "New.Picker@acme.test", "role": Role.WAREHOUSE})
    assert response.status_code == 302
    user = User.objects.get(username="New.Picker@acme.test")
    assert user.is_staff and not user.has_usable_password()
    assert Membership.objects.for_tenant(tenant_a).get(user=user).role == Role.WAREHOUSE

    [invitation] = mail.outbox
    assert invitation.to == ["New.Picker@acme.test"]
    assert "Acme Outdoor" in invitation.subject and "owner@acme.test" in invitation.body
    link = re.search(r"http://testserver(/account/reset/\S+/)", invitation.body).group(1)

    client.logout()
    form = client.get(link, follow=True)  # Django swaps the token into the session and redirects
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "a-Long-pass-2026", "new_password2": "a-Long-pass-2026"}
    )
    assert done.status_code == 302
    assert client.login(username="New.Picker@acme.test", password="a-Long-pass-2026")
    assert client.get(reverse("admin:inventory_stocklevel_changelist")).status_code == 200


def test_an_existing_user_joins_without_a_new_account(
    client, owner_a, owner_b, tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    client.force_login(owner_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ADD, {"email": "OWNER@globex.test", "role": Role.AGENT})
    assert Membership.objects.for_tenant(tenant_a).get(user=owner_b).role == Role.AGENT
    assert User.objects.filter(email__iexact="owner@globex.test").count() == 1
    [notice] = mail.outbox
    assert "/account/reset/" not in notice.body and "Acme Outdoor" in notice.body
    assert owner_b.check_password("pass-word-123")  # untouched


def test_a_member_cannot_be_added_twice(client, owner_a, manager_a, tenant_a):
    client.force_login(owner_a)
    response = client.post(ADD, {"email": "manager@acme.test", "role": Role.AGENT})
    assert response.status_code == 200
    assert "Already on this tenant" in response.content.decode()
    assert Membership.objects.for_tenant(tenant_a).get(user=manager_a).role == Role.MANAGER


def test_changing_a_membership_changes_its_role_only(client, owner_a, owner_b, manager_a, tenant_a):
    membership = Membership.objects.for_tenant(tenant_a).get(user=manager_a)
    url = reverse("admin:oms_membership_change", args=[membership.pk])
    client.force_login(owner_a)
    shown = client.get(url)
    page = shown.content.decode()
    assert "manager@acme.test" in page and "owner@globex.test" not in page and 'name="user"' not in page
    response = client.post(url, {**admin_form_data(shown), "role": Role.AGENT, "user": owner_b.pk})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.role, membership.user_id) == (Role.AGENT, manager_a.pk)


def test_only_owners_manage_staff(client, manager_a):
    client.force_login(manager_a)
    assert client.get(ADD).status_code == 403
    assert client.get(reverse("admin:oms_membership_changelist")).status_code == 403


def test_staff_never_reach_the_platform_user_list(client, owner_a):
    client.force_login(owner_a)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_user_add")).status_code == 403


def test_the_invitation_task_sends_nothing_for_another_tenants_membership(manager_a, tenant_a, tenant_b):
    from oms.tasks import staff_invitation_send_task

    membership = Membership.objects.for_tenant(tenant_a).get(user=manager_a)
    with pytest.raises(Membership.DoesNotExist):
        staff_invitation_send_task(
            tenant_id=tenant_b.pk, membership_id=membership.pk, new_user=False, origin="", inviter=""
        )
    assert mail.outbox == []


def test_the_invitation_is_written_to_the_outbox_with_the_membership(client, owner_a, tenant_a):
    client.force_login(owner_a)
    client.post(ADD, {"email": "late.mail@acme.test", "role": Role.AGENT})  # on-commit never runs here
    row = OutboxMessage.objects.get(task="oms.tasks.staff_invitation_send_task")
    membership = Membership.objects.for_tenant(tenant_a).get(user__email="late.mail@acme.test")
    assert (row.tenant_id, row.kwargs["membership_id"], row.kwargs["new_user"]) == (
        tenant_a.pk,
        membership.pk,
        True,
    )
    assert mail.outbox == []
