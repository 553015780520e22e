"""A channel account's secrets never reach the audit trail, the logs or the inbox in clear.

Staff create and edit a Stripe account through the admin with live-looking secrets, the
account is used against localstripe and receives webhooks, and then the whole audit table,
the stored deliveries and every log line captured at DEBUG (SQL included) are searched for
the secrets' text.
"""

from __future__ import annotations

import json
import logging

import pytest
import stripe
from django.db import connection
from django.urls import reverse

from integrations.models import ChannelAccount, InboundEvent
from integrations.stripe.gateway import stripe_client
from oms.models import AuditEvent
from orders.payments.services import payment_authorize
from orders.states import PaymentState
from tests.integrations.conftest import stripe_event
from tests.orders.payments.factories import make_order

API_KEYS = ("sk_live_51QfirstKEYaaaaaaaaaaaaaaaaaaaaaa", "sk_live_51QsecondKEYbbbbbbbbbbbbbbbbbbbb")
SIGNING = ("whsec_firstSIGNINGsecretAAAAAAAAAAAA", "whsec_secondSIGNINGsecretBBBBBBBBBBB")


@pytest.fixture
def debug_logs(caplog):
    """Everything logged at DEBUG, SQL statements with their parameters included."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    forced, connection.force_debug_cursor = connection.force_debug_cursor, True
    yield caplog
    connection.force_debug_cursor = forced


def _account_form(name, base_url, credentials="", webhook_secret=""):
    return {
        "kind": "stripe",
        "name": name,
        "base_url": base_url,
        "credentials": credentials,
        "webhook_secret": webhook_secret,
        "active": "on",
    }


def _all_logged(caplog, skip: str = "") -> str:
    lines = [] if skip else [caplog.text]
    for record in caplog.records:
        if skip and record.name == skip:
            continue
        lines.append(record.getMessage())
        lines.append(repr(record.args))
        lines.append(repr(getattr(record, "params", "")))
    return "\n".join(lines)


def test_account_secrets_are_recorded_only_as_changed(
    client, owner_a, tenant_a, localstripe_url, debug_logs, django_capture_on_commit_callbacks
):
    client.force_login(owner_a)
    add = client.post(
        reverse("admin:integrations_channelaccount_add"),
        _account_form("live", localstripe_url, API_KEYS[0], SIGNING[0]),
    )
    assert add.status_code == 302
    account = ChannelAccount.objects.for_tenant(tenant_a).get(name="live")
    change_url = reverse("admin:integrations_channelaccount_change", args=[account.pk])
    for form in (
        _account_form("live-renamed", localstripe_url, API_KEYS[1], SIGNING[1]),
        _account_form("live-renamed-again", localstripe_url),  # blank: keep both secrets
    ):
        assert client.post(change_url, form).status_code == 302
    account.refresh_from_db()
    assert (account.credentials, account.webhook_secret) == (API_KEYS[1], SIGNING[1])

    # The account in use: a payment through the SDK, then a good and a forged webhook.
    payment = payment_authorize(
        tenant=tenant_a, order=make_order(tenant_a), provider="stripe", payment_method="pm_card_visa"
    )
    assert payment.state == PaymentState.AUTHORIZED
    client_secret = stripe_client(account).v1.payment_intents.retrieve(payment.provider_id).client_secret
    assert client_secret.startswith(f"{payment.provider_id}_secret")
    payload = stripe_event("customer.created", {"id": "cus_1"}, event_id="evt_secret_scan")
    for secret in (SIGNING[1], SIGNING[0]):
        signature = stripe.WebhookSignature.generate_signature_header(payload, secret)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                account.webhook_path,
                payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )
    assert sorted(InboundEvent.objects.for_tenant(tenant_a).values_list("state", flat=True)) == [
        "ignored",
        "rejected",
    ]

    audit = AuditEvent.objects.for_tenant(tenant_a).filter(object_type="integrations.channelaccount")
    created, changed, _kept = audit.order_by("pk")
    assert created.after["credentials"] == created.after["webhook_secret"] == "changed"
    assert changed.after["credentials"] == changed.before["credentials"] == "changed"
    assert "credentials" not in _kept.after and _kept.after["name"] == "live-renamed-again"
    recorded = json.dumps(list(AuditEvent.objects.unscoped().values()), default=str)
    stored = json.dumps(list(InboundEvent.objects.unscoped().values("headers", "body", "error")))
    logged = _all_logged(debug_logs)
    assert "INSERT INTO" in logged  # the SQL really was captured
    for secret in (*API_KEYS, *SIGNING):
        assert secret not in recorded
        assert secret not in stored
        assert secret not in logged
    assert "Request to Stripe api" in logged  # the SDK's own log lines were captured
    assert client_secret not in logged  # response bodies are not logged
    # The URL token is stored in clear (it is looked up), but no log line but SQL shows it.
    requests_logged = "\n".join(r.getMessage() for r in debug_logs.records if r.name == "django.request")
    assert f"/webhooks/stripe/{account.webhook_token[:4]}" in requests_logged
    assert account.webhook_token not in _all_logged(debug_logs, skip="django.db.backends")
