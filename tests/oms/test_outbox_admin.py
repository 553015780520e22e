"""The outbox in the admin: read-only, superusers see every row, an owner their tenant's rows only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oms.models import OutboxMessage
from tests.oms.factories import UserFactory

CHANGELIST = reverse("admin:oms_outboxmessage_changelist")


@pytest.fixture
def rows(tenant_a, tenant_b):
    return (
        OutboxMessage.objects.create(tenant=tenant_a, task="orders.tasks.acme_side_effect", kwargs={}),
        OutboxMessage.objects.create(tenant=tenant_b, task="orders.tasks.globex_side_effect", kwargs={}),
        OutboxMessage.objects.create(task="oms.tasks.system_side_effect", state="failed", last_error="boom"),
    )


def test_an_owner_sees_only_their_tenants_rows_and_cannot_change_them(client, owner_a, rows):
    mine, theirs, _ = rows
    client.force_login(owner_a)
    body = client.get(CHANGELIST).content.decode()
    assert "acme_side_effect" in body
    assert "globex_side_effect" not in body and "system_side_effect" not in body
    page = client.get(reverse("admin:oms_outboxmessage_change", args=[mine.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    other = client.get(reverse("admin:oms_outboxmessage_change", args=[theirs.pk]), follow=True)
    assert b"globex_side_effect" not in other.content
    assert client.get(reverse("admin:oms_outboxmessage_add")).status_code == 403
    assert (
        client.post(reverse("admin:oms_outboxmessage_delete", args=[mine.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert OutboxMessage.objects.count() == 3


def test_other_roles_do_not_see_the_outbox(client, manager_a, warehouse_a, rows):
    for user in (manager_a, warehouse_a):
        client.force_login(user)
        assert client.get(CHANGELIST).status_code == 403


def test_a_superuser_sees_every_row_and_its_error(client, rows):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    body = client.get(CHANGELIST).content.decode()
    for name in ("acme_side_effect", "globex_side_effect", "system_side_effect"):
        assert name in body
    page = client.get(reverse("admin:oms_outboxmessage_change", args=[rows[2].pk])).content.decode()
    assert "boom" in page
