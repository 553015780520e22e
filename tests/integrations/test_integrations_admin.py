"""The inbox and account admins: tenant-scoped, read-only inbox with replay, write-only secrets."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from integrations.models import ChannelAccount, InboundEvent
from tests.orders.payments.factories import make_stripe_account


def _event(account, event_id, state="received", event_type="payment_intent.succeeded"):
    return InboundEvent.objects.create(
        tenant_id=account.tenant_id,
        source="stripe",
        account=account,
        event_id=event_id,
        event_type=event_type,
        body="{}",
        state=state,
    )


@pytest.fixture
def inbox(tenant_a, tenant_b):
    a, b = make_stripe_account(tenant_a), make_stripe_account(tenant_b, secret="whsec_globex")
    return {
        "a_ok": _event(a, "evt_acme_visible", state="processed"),
        "a_dead": _event(a, "evt_acme_dead", state="dead"),
        "b": _event(b, "evt_globex_secret", state="dead"),
    }


def test_owner_sees_only_own_tenants_events(client, owner_a, inbox):
    client.force_login(owner_a)

    body = client.get(reverse("admin:integrations_inboundevent_changelist")).content.decode()

    assert "evt_acme_visible" in body
    assert "evt_globex_secret" not in body


def test_another_tenants_event_page_is_not_served(client, owner_a, inbox):
    client.force_login(owner_a)

    response = client.get(
        reverse("admin:integrations_inboundevent_change", args=[inbox["b"].pk]), follow=True
    )

    assert "evt_globex_secret" not in response.content.decode()


def test_the_event_page_is_read_only(client, owner_a, inbox):
    client.force_login(owner_a)
    url = reverse("admin:integrations_inboundevent_change", args=[inbox["a_ok"].pk])

    body = client.get(url).content.decode()

    assert "evt_acme_visible" in body
    assert 'name="_save"' not in body
    assert client.get(reverse("admin:integrations_inboundevent_add")).status_code == 403


def test_replay_action_requeues_own_dead_events_only(
    client, owner_a, inbox, django_capture_on_commit_callbacks
):
    client.force_login(owner_a)
    ids = [inbox["a_dead"].pk, inbox["b"].pk, inbox["a_ok"].pk]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("admin:integrations_inboundevent_changelist"),
            {"action": "replay_events", "_selected_action": ids},
        )

    assert response.status_code == 302
    assert len(callbacks) == 1
    states = dict(InboundEvent.objects.unscoped().values_list("event_id", "state"))
    assert states == {
        "evt_acme_visible": "processed",
        "evt_acme_dead": "received",
        "evt_globex_secret": "dead",
    }


def test_account_secrets_are_write_only_in_the_admin(client, owner_a, tenant_a):
    account = make_stripe_account(tenant_a)
    client.force_login(owner_a)
    url = reverse("admin:integrations_channelaccount_change", args=[account.pk])

    body = client.get(url).content.decode()
    listing = client.get(reverse("admin:integrations_channelaccount_changelist")).content.decode()

    for page in (body, listing):
        assert "sk_test_acme" not in page
        assert "whsec_test_local" not in page
    response = client.post(
        url,
        {
            "kind": "stripe",
            "name": "renamed",
            "base_url": "",
            "credentials": "",
            "webhook_secret": "",
            "active": "on",
        },
    )
    assert response.status_code == 302
    account = ChannelAccount.objects.for_tenant(tenant_a).get(pk=account.pk)
    assert (account.name, account.credentials, account.webhook_secret) == (
        "renamed",
        "sk_test_acme",
        "whsec_test_local",
    )


def test_account_secrets_are_encrypted_at_rest(tenant_a):
    account = make_stripe_account(tenant_a)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials, webhook_secret FROM integrations_channelaccount WHERE id = %s", [account.pk]
        )
        stored = cursor.fetchone()

    assert all(value.startswith("fernet:") for value in stored)
    assert "sk_test" not in repr(account) and "sk_test" not in str(account)
