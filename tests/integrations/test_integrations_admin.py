"""The inbox and account admins: tenant-scoped, read-only inbox with replay, write-only secrets."""

from __future__ import annotations

import pytest
import stripe
from django.db import connection
from django.urls import reverse

from integrations.models import ChannelAccount, InboundEvent
from oms.models import AuditEvent
from tests.integrations.conftest import stripe_event
from tests.orders.payments.factories import WEBHOOK_SECRET, make_stripe_account


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


def test_the_admin_shows_each_accounts_full_webhook_url(client, owner_a, tenant_a):
    account = make_stripe_account(tenant_a)
    polled = ChannelAccount.objects.create(tenant=tenant_a, kind="amazon", name="sp-api")
    client.force_login(owner_a)
    url = f"http://testserver/webhooks/stripe/{account.webhook_token}/"

    listing = client.get(reverse("admin:integrations_channelaccount_changelist")).content.decode()
    page = client.get(reverse("admin:integrations_channelaccount_change", args=[account.pk])).content.decode()
    polled_page = client.get(reverse("admin:integrations_channelaccount_change", args=[polled.pk]))

    assert url in listing and url in page
    assert "this channel is polled" in polled_page.content.decode()


def _rotate(client, *accounts):
    return client.post(
        reverse("admin:integrations_channelaccount_changelist"),
        {"action": "rotate_webhook_tokens", "_selected_action": [a.pk for a in accounts]},
    )


def test_an_owner_rotates_the_webhook_url_and_the_old_one_stops_working(client, owner_a, tenant_a, tenant_b):
    account, theirs = make_stripe_account(tenant_a), make_stripe_account(tenant_b)
    old_path, their_token = account.webhook_path, theirs.webhook_token
    client.force_login(owner_a)
    listing = client.get(reverse("admin:integrations_channelaccount_changelist")).content.decode()

    assert "rotate_webhook_tokens" in listing
    assert _rotate(client, account, theirs).status_code == 302

    account.refresh_from_db()
    assert account.webhook_path != old_path
    theirs.refresh_from_db()
    assert theirs.webhook_token == their_token  # another tenant's account is out of reach
    payload = stripe_event("customer.created", {"id": "cus_1"}, event_id="evt_rotated")
    signature = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
    old = client.post(old_path, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    new = client.post(
        account.webhook_path, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert (old.status_code, old.json()["code"]) == (401, "invalid_signature")
    assert new.status_code == 200
    event = AuditEvent.objects.for_tenant(tenant_a).get(action="channelaccount.webhook_token_rotated")
    assert event.after == {"webhook_token": "changed"}
    assert event.actor == "user:owner@acme.test"


def test_only_an_owner_may_rotate_a_webhook_url(client, manager_a, tenant_a):
    account = make_stripe_account(tenant_a)
    client.force_login(manager_a)

    listing = client.get(reverse("admin:integrations_channelaccount_changelist")).content.decode()
    _rotate(client, account)

    assert "rotate_webhook_tokens" not in listing
    assert (
        ChannelAccount.objects.for_tenant(tenant_a).get(pk=account.pk).webhook_token == account.webhook_token
    )


def test_the_account_form_hides_its_secrets_from_error_reports(client, owner_a, tenant_a):
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:integrations_channelaccount_add"),
        {"kind": "stripe", "name": "", "credentials": "sk_live_report", "webhook_secret": "whsec_report"},
    )

    assert response.status_code == 200  # the form came back with an error (no name)
    hidden = response.wsgi_request.sensitive_post_parameters
    assert set(hidden) == {"credentials", "webhook_secret"}
